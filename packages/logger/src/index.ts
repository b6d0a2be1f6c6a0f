import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

export interface CreateLoggerOptions {
  /** Root name, e.g. the process role ("broker", "worker"). */
  readonly name: string;
  /** pino level; defaults to GEOMESH_LOG_LEVEL, else "silent" under vitest and "info" elsewhere. */
  readonly level?: string;
  /** Fields bound to every line (region, pid, ...). */
  readonly base?: Record<string, unknown>;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  readonly destination?: pino.DestinationStream;
}

/** Default level: explicit env first, quiet under the test runner, info otherwise. */
export function defaultLevel(env: NodeJS.ProcessEnv = process.env): string {
  return env.GEOMESH_LOG_LEVEL ?? (env.VITEST ? "silent" : "info");
}

/** Builds the process's root logger; components take `logger.child({ component })`. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const config: LoggerOptions = {
    name: options.name,
    level: options.level ?? defaultLevel(),
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A logger that drops everything: for library defaults when the caller passes none. */
export const silentLogger: Logger = pino({ level: "silent" });

/**
 * Logs at most `burst` events per `windowMs` for one noisy condition (malformed frames from a
 * hostile peer) and reports how many were suppressed when the window rolls over.
 */
export class RateLimitedLog {
  private windowStart = 0;
  private count = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly burst = 10,
    private readonly windowMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown>, message: string, now = Date.now()): void {
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0)
        this.logger.warn({ suppressed: this.suppressed }, "suppressed repeated warnings");
      this.windowStart = now;
      this.count = 0;
      this.suppressed = 0;
    }
    if (this.count < this.burst) {
      this.count += 1;
      this.logger.warn(fields, message);
    } else {
      this.suppressed += 1;
    }
  }
}
