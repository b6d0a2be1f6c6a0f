import { InvalidArgumentError } from "commander";

const ENDPOINT = /^(tcp:\/\/[^\s:]+:(\d{1,5}|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/;

/** `--frontend tcp://127.0.0.1:7100` and friends. */
export function parseEndpoint(value: string): string {
  if (!ENDPOINT.test(value))
    throw new InvalidArgumentError("must be tcp://host:port or ipc://path");
  const port = /:(\d+)$/.exec(value)?.[1];
  if (port !== undefined && Number(port) > 65535)
    throw new InvalidArgumentError("port must be ≤ 65535");
  return value;
}

/** An integer flag within [min, max]. */
export function intInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    return n;
  };
}

/** A region name as the config spells it (letters, digits, - and _). */
export function parseRegionName(value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(value))
    throw new InvalidArgumentError("must be a region name such as NE");
  return value;
}

export function parseLogLevel(value: string): string {
  const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  if (!levels.includes(value))
    throw new InvalidArgumentError(`must be one of ${levels.join(", ")}`);
  return value;
}

/** `--store sqlite:./data/ne.sqlite` or `--store mongodb://host/db`. */
export function parseStoreUri(value: string): string {
  if (!/^(mongodb(\+srv)?:\/\/\S+|sqlite:\S+)$/.test(value))
    throw new InvalidArgumentError("must be sqlite:<file> or mongodb://…");
  return value;
}
