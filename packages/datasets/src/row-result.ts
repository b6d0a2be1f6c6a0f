import type { ErrorCode } from "@geomesh/errors";
import type { PlaceInput } from "@geomesh/geo";

/**
 * One row read from a source: a validated place, or the reason it was refused. `row` is the
 * 1-based position a person would look for: the line for NDJSON and CSV (the header is line 1),
 * the feature's position for GeoJSON, the record's position for bundled datasets.
 * The place is a validated `place.upsert` body (`updatedAt` is stamped by the store when absent).
 */
export type RowResult =
  | { readonly ok: true; readonly row: number; readonly place: PlaceInput }
  | { readonly ok: false; readonly row: number; readonly reason: string; readonly code: ErrorCode };

/** A refused row. */
export type RejectedRow = Extract<RowResult, { ok: false }>;

/** Builds a refused row. */
export function rejectRow(row: number, code: ErrorCode, reason: string): RejectedRow {
  return { ok: false, row, reason, code };
}

/** Renders a refused row for people: `row 17: location.coordinates[1]: latitude 123 out of range [-90, 90]`. */
export function formatRowError(result: RejectedRow): string {
  return `row ${result.row}: ${result.reason}`;
}
