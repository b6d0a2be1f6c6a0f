import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { GeomeshError, isGeomeshError } from "@geomesh/errors";
import { readCsv } from "./read-csv.js";
import { readGeoJson } from "./read-geojson.js";
import { readNdjson } from "./read-ndjson.js";
import type { CsvReadOptions, PlaceFormat } from "./read-options.js";
import type { RowResult } from "./row-result.js";

const EXTENSIONS: ReadonlyMap<string, PlaceFormat> = new Map([
  [".geojson", "geojson"],
  [".json", "geojson"],
  [".ndjson", "ndjson"],
  [".jsonl", "ndjson"],
  [".geojsonl", "ndjson"],
  [".geojsonseq", "ndjson"],
  [".csv", "csv"],
]);

/** The format a file name implies (case-insensitive extension), or undefined. */
export function detectFormat(path: string): PlaceFormat | undefined {
  return EXTENSIONS.get(extname(path).toLowerCase());
}

/** The format to read `path` with: the explicit one, else its extension's; throws CONFIG_INVALID when neither. */
export function formatOf(path: string, format?: PlaceFormat): PlaceFormat {
  const resolved = format ?? detectFormat(path);
  if (resolved === undefined) {
    throw new GeomeshError(
      "CONFIG_INVALID",
      `cannot tell the format of ${JSON.stringify(path)} from its extension (use .geojson/.json, .ndjson/.jsonl, .csv, or give the format)`,
    );
  }
  return resolved;
}

export interface ReadFileOptions extends CsvReadOptions {
  /** Overrides detection from the extension. */
  readonly format?: PlaceFormat;
}

/**
 * Streams the places of a GeoJSON, NDJSON or CSV file as rows. The file is opened on the first
 * `next()`; read errors (missing file, a directory, no permission) reject it with CONFIG_INVALID.
 */
export async function* readPlacesFile(
  path: string,
  options: ReadFileOptions = {},
): AsyncGenerator<RowResult> {
  const format = formatOf(path, options.format);
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  const read = options.maxRowBytes === undefined ? {} : { maxRowBytes: options.maxRowBytes };
  const rows =
    format === "geojson"
      ? readGeoJson(stream, read)
      : format === "ndjson"
        ? readNdjson(stream, read)
        : readCsv(
            stream,
            options.numbers === undefined ? read : { ...read, numbers: options.numbers },
          );
  try {
    yield* rows;
  } catch (error) {
    if (isGeomeshError(error)) throw error;
    const code = (error as { code?: unknown }).code;
    throw new GeomeshError(
      "CONFIG_INVALID",
      `cannot read ${JSON.stringify(path)}: ${typeof code === "string" ? code : (error as Error).message}`,
      { cause: error },
    );
  } finally {
    stream.destroy();
  }
}
