/** The file formats the readers understand. */
export type PlaceFormat = "geojson" | "ndjson" | "csv";

/** Default cap on one row (a line, a CSV record, a GeoJSON feature): 1 MiB. */
export const DEFAULT_MAX_ROW_BYTES = 1024 * 1024;

export interface ReadOptions {
  /** Rows longer than this many bytes are refused without being buffered (default 1 MiB). */
  readonly maxRowBytes?: number;
}

export interface CsvReadOptions extends ReadOptions {
  /**
   * How extra columns become `properties`: `"auto"` (default) makes a column numeric when every
   * non-empty cell of its first 256 rows is a plainly written decimal (no leading zeros, sign,
   * exponent or separators; ≤ 15 integer digits), else it stays text; `"strings"` keeps all text.
   */
  readonly numbers?: "auto" | "strings";
}
