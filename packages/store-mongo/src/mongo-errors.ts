/**
 * Maps MongoDB driver and server errors onto the closed set of store codes: CONFLICT,
 * GEO_INVALID_GEOMETRY, STORE_UNAVAILABLE, STORE_TIMEOUT, CONFIG_INVALID (an unparsable
 * connection string), else INTERNAL. Messages are fixed
 * strings: server messages quote documents and keys (E11000 echoes the duplicate value) and
 * driver messages can contain hosts from the connection string, so neither is ever copied.
 * The original error stays as `cause` (logged, never sent).
 */
import { GeomeshError, isGeomeshError } from "@geomesh/errors";
import {
  MongoBulkWriteError,
  MongoError,
  MongoNetworkError,
  MongoParseError,
  MongoServerError,
} from "mongodb";

const DUPLICATE_KEY = new Set([11000, 11001, 12582]);
/** Server codes for GeoJSON the 2dsphere index or a geo operator refused. */
const BAD_GEOMETRY = new Set([16755, 16433, 16672, 16804, 17287, 17444, 17445]);
/** MaxTimeMSExpired, ExceededTimeLimit, NetworkTimeout, WriteConcernFailed (wtimeout). */
const TIMEOUT = new Set([50, 262, 89, 64]);
/** Unreachable, shutting down, not primary, interrupted by failover. */
const UNAVAILABLE = new Set([6, 7, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);
const AUTH = new Set([13, 18]);
const TIMEOUT_NAMES = new Set([
  "MongoNetworkTimeoutError",
  "MongoOperationTimeoutError",
  "MongoWaitQueueTimeoutError",
]);
const UNAVAILABLE_NAMES = new Set([
  "MongoServerSelectionError",
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
  "MongoPoolClearedError",
  "MongoServerClosedError",
  "MongoClientClosedError",
]);
const GEO_WORDS =
  /geo|loop|polygon|edge|vertex|vertices|coordinate|longitude|latitude|point|ring|hemisphere/i;

function numericCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

/** The server code that decides a bulk write's failure: its first write error, else its own. */
function decisiveCode(error: MongoError): number | undefined {
  if (error instanceof MongoBulkWriteError) {
    const writeErrors: unknown = error.writeErrors;
    const first: unknown = Array.isArray(writeErrors) ? (writeErrors as unknown[])[0] : writeErrors;
    if (typeof first === "object" && first !== null) return numericCode(first);
  }
  return numericCode(error);
}

/** The store error for anything the driver threw (GeomeshErrors pass through). */
export function classifyMongoError(error: unknown, operation: string): GeomeshError {
  if (isGeomeshError(error)) return error;
  if (!(error instanceof MongoError))
    return new GeomeshError("INTERNAL", `${operation} failed`, {
      cause: error,
      data: { operation },
    });
  if (error instanceof MongoParseError) {
    return new GeomeshError(
      "CONFIG_INVALID",
      `${operation}: the MongoDB connection string or its options are invalid`,
      {
        cause: error,
        data: { operation, field: "store" },
      },
    );
  }
  const code = decisiveCode(error);
  const data = { operation, ...(code === undefined ? {} : { mongoCode: code }) };
  const opts = { cause: error, data };
  if (code !== undefined && DUPLICATE_KEY.has(code))
    return new GeomeshError("CONFLICT", `${operation}: duplicate key`, opts);
  if (
    code !== undefined &&
    (BAD_GEOMETRY.has(code) || (code === 2 && GEO_WORDS.test(error.message)))
  ) {
    return new GeomeshError(
      "GEO_INVALID_GEOMETRY",
      `${operation}: MongoDB refused the geometry as invalid`,
      opts,
    );
  }
  if (TIMEOUT_NAMES.has(error.name) || (code !== undefined && TIMEOUT.has(code))) {
    return new GeomeshError("STORE_TIMEOUT", `${operation}: MongoDB did not answer in time`, opts);
  }
  if (code !== undefined && AUTH.has(code)) {
    return new GeomeshError("STORE_UNAVAILABLE", `${operation}: MongoDB refused the credentials`, {
      ...opts,
      retryable: false,
    });
  }
  if (
    error instanceof MongoNetworkError ||
    UNAVAILABLE_NAMES.has(error.name) ||
    (code !== undefined && UNAVAILABLE.has(code)) ||
    error.hasErrorLabel("TransientTransactionError") ||
    error.hasErrorLabel("RetryableWriteError")
  ) {
    return new GeomeshError(
      "STORE_UNAVAILABLE",
      `${operation}: MongoDB is unreachable or has no primary`,
      opts,
    );
  }
  if (error instanceof MongoServerError)
    return new GeomeshError(
      "INTERNAL",
      `${operation}: MongoDB error ${code ?? error.codeName ?? "?"}`,
      opts,
    );
  return new GeomeshError("INTERNAL", `${operation} failed in the MongoDB driver`, opts);
}
