import { decodeUtf8 } from "./decode-utf8.js";
import { featureToPlaceBody } from "./feature-to-place-body.js";
import { scanGeoJson } from "./geojson-scanner.js";
import { DEFAULT_MAX_ROW_BYTES, type ReadOptions } from "./read-options.js";
import { rejectRow, type RowResult } from "./row-result.js";
import { validatePlaceBody } from "./validate-place.js";

/**
 * Reads a GeoJSON FeatureCollection (streamed feature by feature) or a single Feature. Rows are
 * numbered by the feature's position (1-based). Non-Point features, bad JSON inside one feature,
 * features over the size limit and a truncated tail are refused rows; earlier and later
 * features still load. Throws a GeomeshError only when the file is not a JSON object at all.
 */
export async function* readGeoJson(
  source: AsyncIterable<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<RowResult> {
  const maxRowBytes = options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
  for await (const item of scanGeoJson(source, maxRowBytes)) {
    if (item.kind === "failure") {
      yield rejectRow(item.row, item.code, item.reason);
      continue;
    }
    const text = decodeUtf8(item.bytes);
    if (text === undefined) {
      yield rejectRow(item.row, "BAD_REQUEST", "invalid UTF-8 in the feature");
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield rejectRow(item.row, "BAD_REQUEST", `invalid JSON: ${(err as Error).message}`);
      continue;
    }
    // A document without a `features` array is a single Feature; an empty collection has no rows.
    if (
      item.kind === "document" &&
      typeof value === "object" &&
      value !== null &&
      (value as { type?: unknown }).type === "FeatureCollection"
    ) {
      continue;
    }
    const mapped = featureToPlaceBody(value);
    yield mapped.ok
      ? validatePlaceBody(item.row, mapped.body)
      : rejectRow(item.row, mapped.code, mapped.reason);
  }
}
