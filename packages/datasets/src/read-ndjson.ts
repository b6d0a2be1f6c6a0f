import { decodeUtf8 } from "./decode-utf8.js";
import { featureToPlaceBody } from "./feature-to-place-body.js";
import { oversizeReason } from "./oversize-reason.js";
import { DEFAULT_MAX_ROW_BYTES, type ReadOptions } from "./read-options.js";
import { splitRecords } from "./record-splitter.js";
import { rejectRow, type RowResult } from "./row-result.js";
import { validatePlaceBody } from "./validate-place.js";

/**
 * Reads newline-delimited JSON: one GeoJSON Feature or one place-shaped `place.upsert` body per
 * line. Blank lines are skipped; rows are numbered by line. A line that is too long, not UTF-8,
 * not JSON or not a valid place is one refused row; reading goes on.
 */
export async function* readNdjson(
  source: AsyncIterable<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<RowResult> {
  const maxRowBytes = options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
  for await (const record of splitRecords(source, {
    maxRecordBytes: maxRowBytes,
    csvQuotes: false,
  })) {
    if ("oversizeBytes" in record) {
      yield rejectRow(
        record.row,
        "LIMIT_EXCEEDED",
        oversizeReason("the line", record.oversizeBytes, maxRowBytes),
      );
      continue;
    }
    const text = decodeUtf8(record.bytes);
    if (text === undefined) {
      yield rejectRow(record.row, "BAD_REQUEST", "invalid UTF-8 in the line");
      continue;
    }
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield rejectRow(record.row, "BAD_REQUEST", `invalid JSON: ${(err as Error).message}`);
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      yield rejectRow(
        record.row,
        "VALIDATION_FAILED",
        `expected a GeoJSON Feature or a place object, got ${Array.isArray(value) ? "an array" : String(value === null ? "null" : typeof value)}`,
      );
      continue;
    }
    if ((value as { type?: unknown }).type === "Feature") {
      const mapped = featureToPlaceBody(value);
      yield mapped.ok
        ? validatePlaceBody(record.row, mapped.body)
        : rejectRow(record.row, mapped.code, mapped.reason);
    } else {
      yield validatePlaceBody(record.row, value);
    }
  }
}
