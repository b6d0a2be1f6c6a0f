import type { CsvColumns } from "./csv-header.js";
import { splitTags, type BodyResult } from "./feature-to-place-body.js";

/**
 * "Clearly numeric": a plain decimal with no sign other than a leading minus, no leading zeros,
 * no exponent, no thousands separators, and at most 15 integer digits (so it converts exactly).
 * ZIP codes ("02134"), phone-like "+1…", "1e5", "1,000", "0x1F" and long ids are not.
 */
const PLAIN_NUMBER = /^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$/;

/** True when a cell is clearly numeric (see PLAIN_NUMBER). */
export function isPlainNumber(text: string): boolean {
  return PLAIN_NUMBER.test(text);
}

/**
 * The extra columns to hold numbers: those where every non-empty cell of the sample rows is
 * clearly numeric (and at least one is present). Deciding per column, not per cell, keeps a
 * column one type: a ZIP column with "02134" in the sample stays all strings.
 */
export function numericColumns(
  sample: readonly (readonly string[])[],
  columns: CsvColumns,
): ReadonlySet<number> {
  const numeric = new Set<number>();
  for (const { index } of columns.extra) {
    let seen = false;
    let plain = true;
    for (const fields of sample) {
      if (fields.length !== columns.count) continue;
      const value = fields[index] ?? "";
      if (value === "") continue;
      seen = true;
      if (!PLAIN_NUMBER.test(value)) {
        plain = false;
        break;
      }
    }
    if (seen && plain) numeric.add(index);
  }
  return numeric;
}

/** Coordinates accept any ordinary decimal notation (surrounding spaces, a sign, an exponent). */
const COORDINATE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function coordinate(text: string | undefined, column: string): number | string {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return `column ${column}: empty`;
  if (!COORDINATE.test(trimmed))
    return `column ${column}: ${JSON.stringify(trimmed.slice(0, 40))} is not a number`;
  return Number(trimmed);
}

/**
 * Maps one CSV record to a `place.upsert` body. Empty cells are left out (so a missing name is
 * reported by the validator as missing); tags are `;`-separated; other columns go to
 * `properties` under their header name, as numbers in the `numeric` columns, else as strings.
 */
export function csvRowToPlaceBody(
  fields: readonly string[],
  columns: CsvColumns,
  numeric: ReadonlySet<number>,
): BodyResult {
  if (fields.length !== columns.count) {
    return {
      ok: false,
      code: "VALIDATION_FAILED",
      reason: `row has ${fields.length} field${fields.length === 1 ? "" : "s"}, the header has ${columns.count}`,
    };
  }
  const lng = coordinate(fields[columns.lng], columns.names[columns.lng] ?? "lng");
  if (typeof lng === "string") return { ok: false, code: "VALIDATION_FAILED", reason: lng };
  const lat = coordinate(fields[columns.lat], columns.names[columns.lat] ?? "lat");
  if (typeof lat === "string") return { ok: false, code: "VALIDATION_FAILED", reason: lat };

  const entries: [string, unknown][] = [];
  const put = (key: string, index: number | undefined): void => {
    const value = index === undefined ? "" : (fields[index] ?? "");
    if (value !== "") entries.push([key, value]);
  };
  put("id", columns.id);
  put("name", columns.name);
  put("category", columns.category);
  entries.push(["location", { type: "Point", coordinates: [lng, lat] }]);
  entries.push(["tags", columns.tags === undefined ? [] : splitTags(fields[columns.tags] ?? "")]);
  const properties: [string, unknown][] = [];
  for (const { index, key } of columns.extra) {
    const value = fields[index] ?? "";
    // In a numeric column a cell that is not clearly numeric (e.g. "n/a") stays a string.
    if (value !== "")
      properties.push([
        key,
        numeric.has(index) && PLAIN_NUMBER.test(value) ? Number(value) : value,
      ]);
  }
  // fromEntries defines own properties: a "__proto__" column reaches the validator as a key.
  entries.push(["properties", Object.fromEntries(properties)]);
  return { ok: true, body: Object.fromEntries(entries) };
}
