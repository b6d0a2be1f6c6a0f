/**
 * Every error code geomesh puts on the wire, with its status and retry hint.
 * The table is total over `ErrorCode`: adding a code does not compile until it is mapped,
 * and `errors-doc.test.ts` keeps `docs/errors.md` in step with it.
 */
export const ErrorCode = {
  BAD_REQUEST: "BAD_REQUEST",
  VALIDATION_FAILED: "VALIDATION_FAILED",
  LIMIT_EXCEEDED: "LIMIT_EXCEEDED",
  GEO_INVALID_GEOMETRY: "GEO_INVALID_GEOMETRY",
  GEO_OUT_OF_REGION: "GEO_OUT_OF_REGION",
  NOT_FOUND: "NOT_FOUND",
  SERVICE_NOT_FOUND: "SERVICE_NOT_FOUND",
  REGION_NOT_FOUND: "REGION_NOT_FOUND",
  CONFLICT: "CONFLICT",
  UNPROCESSABLE: "UNPROCESSABLE",
  RATE_LIMITED: "RATE_LIMITED",
  TIMEOUT: "TIMEOUT",
  DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
  CANCELLED: "CANCELLED",
  QUEUE_FULL: "QUEUE_FULL",
  WORKER_LOST: "WORKER_LOST",
  BROKER_UNAVAILABLE: "BROKER_UNAVAILABLE",
  PEER_LOST: "PEER_LOST",
  REGION_UNAVAILABLE: "REGION_UNAVAILABLE",
  SHUTTING_DOWN: "SHUTTING_DOWN",
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
  STORE_TIMEOUT: "STORE_TIMEOUT",
  MALFORMED_REPLY: "MALFORMED_REPLY",
  CONFIG_INVALID: "CONFIG_INVALID",
  INTERNAL: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP-style statuses used on every reply (499 never leaves the process that cancelled). */
export const Status = {
  OK: 200,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  TIMEOUT: 408,
  CONFLICT: 409,
  UNPROCESSABLE: 422,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED: 499,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const;

export type Status = (typeof Status)[keyof typeof Status];

export interface ErrorSpec {
  readonly status: Exclude<Status, 200>;
  readonly retryable: boolean;
  readonly description: string;
}

export const errorTable: { readonly [C in ErrorCode]: ErrorSpec } = {
  BAD_REQUEST: {
    status: 400,
    retryable: false,
    description: "The request could not be parsed (bad JSON, wrong frame, wrong type).",
  },
  VALIDATION_FAILED: {
    status: 400,
    retryable: false,
    description:
      "The body parsed but a field is missing, unknown or out of range; the message names the field.",
  },
  LIMIT_EXCEEDED: {
    status: 400,
    retryable: false,
    description:
      "A documented limit was exceeded (limit > 1000, maxDistance > 1000 km, > 10000 vertices, body > 1 MiB, message too large).",
  },
  GEO_INVALID_GEOMETRY: {
    status: 400,
    retryable: false,
    description:
      "GeoJSON geometry is invalid (range, unclosed ring, < 4 positions, self-intersection, hole outside shell); the message says what and where.",
  },
  GEO_OUT_OF_REGION: {
    status: 422,
    retryable: false,
    description: "A write lies outside every region (further than 50 km from all of them).",
  },
  NOT_FOUND: { status: 404, retryable: false, description: "No place with that id." },
  SERVICE_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: "No worker offers the requested service.",
  },
  REGION_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: "The request names a region that is not configured.",
  },
  CONFLICT: {
    status: 409,
    retryable: false,
    description: "The write conflicts with the stored state (e.g. a duplicate key).",
  },
  UNPROCESSABLE: {
    status: 422,
    retryable: false,
    description: "The request is well formed but cannot be carried out as asked.",
  },
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    description: "Too many requests from this client; retry after the advertised delay.",
  },
  TIMEOUT: {
    status: 408,
    retryable: true,
    description: "The client gave up waiting for a reply (its own timeout).",
  },
  DEADLINE_EXCEEDED: {
    status: 504,
    retryable: true,
    description:
      "The request's deadline passed before a worker answered; expired requests are never dispatched.",
  },
  CANCELLED: {
    status: 499,
    retryable: false,
    description:
      "The caller cancelled the request (AbortSignal); reported locally, never sent by a broker.",
  },
  QUEUE_FULL: {
    status: 503,
    retryable: true,
    description: "The service queue is at its bound; retry after the advertised delay.",
  },
  WORKER_LOST: {
    status: 503,
    retryable: true,
    description:
      "The worker running a non-idempotent request died or left; the write may or may not have happened.",
  },
  BROKER_UNAVAILABLE: {
    status: 503,
    retryable: true,
    description: "No broker answered (connection lost or not reachable).",
  },
  PEER_LOST: {
    status: 503,
    retryable: true,
    description:
      "The peer broker running a request died and the request could not be re-dispatched.",
  },
  REGION_UNAVAILABLE: {
    status: 503,
    retryable: true,
    description:
      "A region the request needs has no reachable broker or worker (a write or get answers this; reads answer with the other regions and `partial: true`, `unavailable: [...]`). `data.unavailable` lists the regions.",
  },
  SHUTTING_DOWN: {
    status: 503,
    retryable: true,
    description: "The process is draining for shutdown and takes no new work.",
  },
  STORE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    description: "The region's store cannot be reached.",
  },
  STORE_TIMEOUT: {
    status: 504,
    retryable: true,
    description: "The region's store did not answer in time.",
  },
  MALFORMED_REPLY: {
    status: 500,
    retryable: false,
    description: "A reply could not be parsed (a peer spoke a broken protocol).",
  },
  CONFIG_INVALID: {
    status: 400,
    retryable: false,
    description:
      "The cluster configuration or a command-line value is invalid; the message names the field.",
  },
  INTERNAL: {
    status: 500,
    retryable: false,
    description: "An unexpected failure inside geomesh; details are in the logs, not in the reply.",
  },
};

/** True when `value` is one of the known codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(errorTable, value);
}
