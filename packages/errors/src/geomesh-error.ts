import { type ErrorCode, errorTable, isErrorCode, type Status } from "./codes.js";

export interface ErrorOptions {
  readonly data?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
  /** Overrides the table's retry hint for this instance. */
  readonly retryable?: boolean;
}

/** The JSON error body shared by ZeroMQ replies and HTTP responses. */
export interface WireError {
  error: { code: string; message: string; retryable?: boolean; data?: Record<string, unknown> };
  status: number;
}

/** A coded error: knows its wire status, whether a retry may help, and its cause. */
export class GeomeshError extends Error {
  override readonly name = "GeomeshError";
  readonly code: ErrorCode;
  readonly status: Exclude<Status, 200>;
  readonly retryable: boolean;
  readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const spec = errorTable[code];
    this.code = code;
    this.status = spec.status;
    this.retryable = options.retryable ?? spec.retryable;
    this.data = options.data;
  }

  /** The body sent over the wire; never includes the cause or stack. */
  toWire(): WireError {
    const error: WireError["error"] = {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
    };
    if (this.data !== undefined) error.data = { ...this.data };
    return { error, status: this.status };
  }

  toJSON(): WireError {
    return this.toWire();
  }
}

/** True for GeomeshError instances, including ones from another copy of this module. */
export function isGeomeshError(value: unknown): value is GeomeshError {
  return (
    value instanceof GeomeshError ||
    (value instanceof Error &&
      value.name === "GeomeshError" &&
      isErrorCode((value as { code?: unknown }).code))
  );
}

/**
 * Rebuilds a GeomeshError from a wire body received from elsewhere. Unknown or malformed
 * bodies become MALFORMED_REPLY (the original is kept in `data.body` only when it is small).
 */
export function errorFromWire(body: unknown, fallbackStatus?: number): GeomeshError {
  if (typeof body === "object" && body !== null && "error" in body) {
    const err = body.error;
    if (typeof err === "object" && err !== null) {
      const { code, message, retryable, data } = err as Record<string, unknown>;
      if (isErrorCode(code) && typeof message === "string") {
        const opts: { retryable?: boolean; data?: Record<string, unknown> } = {};
        if (typeof retryable === "boolean") opts.retryable = retryable;
        if (typeof data === "object" && data !== null && !Array.isArray(data))
          opts.data = data as Record<string, unknown>;
        return new GeomeshError(code, message, opts);
      }
    }
  }
  return new GeomeshError(
    "MALFORMED_REPLY",
    `reply with status ${fallbackStatus ?? "?"} carried no recognisable error body`,
  );
}

/** Wraps anything thrown into a GeomeshError; unknown failures become INTERNAL without leaking details. */
export function toGeomeshError(value: unknown): GeomeshError {
  if (isGeomeshError(value)) return value;
  return new GeomeshError("INTERNAL", "internal error", { cause: value });
}
