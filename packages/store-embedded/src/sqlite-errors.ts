/**
 * Maps SQLite failures onto the closed set of store error codes. Messages are fixed strings:
 * SQLite messages can quote values from the statement, which may be stored data.
 */
import { GeomeshError, isGeomeshError } from "@geomesh/errors";

function sqliteCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = error.code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
  }
  return undefined;
}

/** Whether better-sqlite3 threw SQLITE_BUSY (or one of its extended codes). */
export function isSqliteBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === "SQLITE_BUSY" || (code?.startsWith("SQLITE_BUSY_") ?? false);
}

/** The store error for anything thrown by better-sqlite3 (GeomeshErrors pass through). */
export function classifySqliteError(error: unknown, operation: string): GeomeshError {
  if (isGeomeshError(error)) return error;
  const code = sqliteCode(error);
  const opts = {
    cause: error,
    data: { operation, ...(code === undefined ? {} : { sqlite: code }) },
  };
  if (code === undefined) {
    if (error instanceof TypeError && /database connection is not open/i.test(error.message)) {
      return new GeomeshError("STORE_UNAVAILABLE", `${operation}: the store is closed`, opts);
    }
    return new GeomeshError("INTERNAL", `${operation} failed`, opts);
  }
  if (isSqliteBusy(error) || code === "SQLITE_LOCKED" || code.startsWith("SQLITE_LOCKED_")) {
    return new GeomeshError(
      "STORE_TIMEOUT",
      `${operation}: the database stayed locked by another writer past the busy timeout`,
      opts,
    );
  }
  if (code.startsWith("SQLITE_CONSTRAINT")) {
    return new GeomeshError("CONFLICT", `${operation}: the write conflicts with stored data`, opts);
  }
  if (
    code.startsWith("SQLITE_CANTOPEN") ||
    code.startsWith("SQLITE_IOERR") ||
    code.startsWith("SQLITE_READONLY") ||
    code === "SQLITE_FULL" ||
    code === "SQLITE_PERM" ||
    code === "SQLITE_NOTADB" ||
    code.startsWith("SQLITE_CORRUPT")
  ) {
    return new GeomeshError(
      "STORE_UNAVAILABLE",
      `${operation}: the database file cannot be used (${code})`,
      opts,
    );
  }
  return new GeomeshError("INTERNAL", `${operation} failed (${code})`, opts);
}
