import { GeomeshError } from "@geomesh/errors";
import type { Handler } from "@geomesh/protocol";

export const MAX_SLEEP_MS = 60_000;

/** Reads `{"ms": N}` or a bare number `N` from the body. */
export function parseSleepBody(body: Buffer | undefined): number {
  let value: unknown;
  try {
    value = JSON.parse(body?.toString("utf8") ?? "");
  } catch {
    throw new GeomeshError(
      "BAD_REQUEST",
      'sys.sleep body must be JSON: {"ms": <0..60000>} or a number',
    );
  }
  const ms =
    typeof value === "number"
      ? value
      : typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as { ms?: unknown }).ms
        : undefined;
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > MAX_SLEEP_MS) {
    throw new GeomeshError("VALIDATION_FAILED", `ms must be an integer 0..${MAX_SLEEP_MS}`, {
      data: { field: "ms" },
    });
  }
  return ms;
}

/**
 * `sys.sleep` (only with --test-services): replies `{"slept": ms}` after `ms`, or stops early
 * when the request is cancelled. For benchmarks and fault tests.
 */
export const sysSleep: Handler = (req) => {
  const ms = parseSleepBody(req.body[0]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(JSON.stringify({ slept: ms })), ms);
    req.signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(req.signal.reason as Error);
      },
      { once: true },
    );
  });
};
