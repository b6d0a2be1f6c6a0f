import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { GeomeshError } from "@geomesh/errors";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import {
  DEFAULT_BASE_PORT,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_REGION_STATES,
  defaultWorkersPerRegion,
} from "./defaults.js";
import { type ClusterConfig, type ClusterConfigInput, clusterSchema } from "./schema.js";

/** Formats zod issues as "regions[1].endpoints.frontend: must be …" lines. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path
        .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join("");
      return `${path || "(root)"}: ${issue.message}`;
    })
    .join("; ");
}

/** Validates a config object, throwing CONFIG_INVALID with every bad field named. */
export function parseClusterConfig(input: unknown, source = "config"): ClusterConfig {
  const result = clusterSchema.safeParse(input);
  if (!result.success) {
    throw new GeomeshError("CONFIG_INVALID", `${source}: ${formatIssues(result.error)}`, {
      data: {
        source,
        issues: result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
      },
    });
  }
  return result.data;
}

export interface DefaultConfigOptions {
  readonly host?: string;
  readonly basePort?: number;
  readonly gatewayPort?: number;
  readonly dataDir?: string;
  readonly workersPerRegion?: number;
}

/** The built-in five-region US cluster on loopback with embedded stores under `dataDir`. */
export function defaultClusterInput(options: DefaultConfigOptions = {}): ClusterConfigInput {
  const host = options.host ?? "127.0.0.1";
  const base = options.basePort ?? DEFAULT_BASE_PORT;
  const dataDir = options.dataDir ?? "./data";
  return {
    regions: Object.entries(DEFAULT_REGION_STATES).map(([name, states], i) => {
      const port = (k: number) => `tcp://${host}:${base + i * 10 + k}`;
      return {
        name,
        polygon: { states: [...states] },
        endpoints: {
          frontend: port(0),
          backend: port(1),
          cloud: port(2),
          state: port(3),
          events: port(4),
        },
        store: `sqlite:${dataDir}/${name.toLowerCase()}.sqlite`,
        workers: options.workersPerRegion ?? defaultWorkersPerRegion(),
      };
    }),
    gateway: { host, port: options.gatewayPort ?? DEFAULT_GATEWAY_PORT },
    dataDir,
  };
}

export function defaultClusterConfig(options: DefaultConfigOptions = {}): ClusterConfig {
  return parseClusterConfig(defaultClusterInput(options), "default config");
}

const CANDIDATES = ["geomesh.config.json", "geomesh.config.yaml", "geomesh.config.yml"];

export interface LoadConfigOptions {
  /** Explicit path (`--config`); wins over GEOMESH_CONFIG. */
  readonly path?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * Loads the cluster config: `--config`, else GEOMESH_CONFIG, else geomesh.config.{json,yaml}
 * in the working directory, else the built-in default. Returns where it came from.
 */
export function loadClusterConfig(options: LoadConfigOptions = {}): {
  config: ClusterConfig;
  source: string;
} {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? env.GEOMESH_CONFIG;
  const path = explicit
    ? resolve(cwd, explicit)
    : CANDIDATES.map((c) => resolve(cwd, c)).find((p) => existsSync(p));
  if (!path) return { config: defaultClusterConfig(), source: "built-in default" };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new GeomeshError("CONFIG_INVALID", `${path}: cannot read config file`, { cause });
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${path}: not valid ${/\.ya?ml$/i.test(path) ? "YAML" : "JSON"}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return { config: parseClusterConfig(raw, path), source: path };
}

/** Looks a region up by name, case-insensitively (region names are routing ids). */
export function findRegion(config: ClusterConfig, name: string): ClusterConfig["regions"][number] {
  const region = config.regions.find((r) => r.name.toLowerCase() === name.toLowerCase());
  if (!region) {
    throw new GeomeshError(
      "REGION_NOT_FOUND",
      `unknown region "${name}"; configured: ${config.regions.map((r) => r.name).join(", ")}`,
    );
  }
  return region;
}
