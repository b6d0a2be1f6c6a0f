import { isGeomeshError } from "@geomesh/errors";
import { parsePlace } from "@geomesh/geo";
import { rejectRow, type RowResult } from "./row-result.js";

/**
 * Validates a candidate `place.upsert` body with geo's strict place parser (`parsePlace`): a
 * place, or a refused row carrying the parser's code and field-addressed message.
 */
export function validatePlaceBody(row: number, body: unknown): RowResult {
  try {
    return { ok: true, row, place: parsePlace(body) };
  } catch (error) {
    if (isGeomeshError(error)) return rejectRow(row, error.code, error.message);
    return rejectRow(
      row,
      "INTERNAL",
      `validation failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
