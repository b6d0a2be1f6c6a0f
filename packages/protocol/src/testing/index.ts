/** Test helpers for protocol suites, exported as `@geomesh/protocol/testing`. */
let counter = 0;

export type Transport = "inproc" | "tcp";

/** A fresh endpoint to bind: a unique inproc name, or loopback with a port the OS picks. */
export function uniqueAddress(transport: Transport, label = "ep"): string {
  counter += 1;
  return transport === "inproc"
    ? `inproc://geomesh-${label}-${process.pid}-${counter}`
    : "tcp://127.0.0.1:*";
}

/** The transports every protocol suite runs over. */
export const TRANSPORTS: readonly Transport[] = ["inproc", "tcp"];

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export { freeEndpoint, freePort, freePortRange, freePorts } from "./ports.js";
