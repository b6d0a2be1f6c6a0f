import { type ClusterConfig, loadClusterConfig } from "@geomesh/config";
import { type Logger, createLogger } from "@geomesh/logger";

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  readonly config?: string;
  readonly logLevel?: string;
  readonly drainMs: number;
}

export function loadConfig(globals: GlobalOptions): ClusterConfig {
  return loadClusterConfig({ path: globals.config }).config;
}

/** The process's root logger, JSON lines on stdout. */
export function makeLogger(
  name: string,
  globals: GlobalOptions,
  base: Record<string, unknown> = {},
): Logger {
  return createLogger({ name, base, ...(globals.logLevel ? { level: globals.logLevel } : {}) });
}
