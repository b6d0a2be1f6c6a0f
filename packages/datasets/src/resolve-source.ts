import { stat } from "node:fs/promises";
import { setImmediate } from "node:timers/promises";
import { GeomeshError } from "@geomesh/errors";
import type { PlaceInput } from "@geomesh/geo";
import { formatOf, readPlacesFile, type ReadFileOptions } from "./read-places-file.js";
import type { RowResult } from "./row-result.js";
import { checkSeed, checkSyntheticCount, DEFAULT_SEED, synthetic } from "./synthetic.js";
import { cities } from "./us-cities.js";
import { zips } from "./us-zips.js";
import { validatePlaceBody } from "./validate-place.js";

/** A source of rows ready to load. */
export interface ResolvedSource {
  /** What was resolved, for logs and the progress bar ("cities", "synthetic 1000000 (seed 1)", a path). */
  readonly label: string;
  /** Number of rows when known up front (bundled datasets), for a progress bar; undefined for files. */
  readonly total: number | undefined;
  readonly rows: AsyncIterable<RowResult>;
}

/** `synthetic:<n>[:<seed>]`, digits with optional `_` separators. */
const SYNTHETIC = /^synthetic:([^:]*)(?::([^:]*))?$/;
const DIGITS = /^\d+(?:_\d+)*$/;

function wholeNumber(text: string, what: string, spec: string): number {
  if (!DIGITS.test(text) || text.replaceAll("_", "").length > 15) {
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${JSON.stringify(spec)}: ${what} must be a whole number, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return Number(text.replaceAll("_", ""));
}

/** Bundled places as rows; `check` runs the place validator (skipped for generated places, valid by construction and by test). */
async function* asRows(places: Iterable<PlaceInput>, check: boolean): AsyncGenerator<RowResult> {
  let row = 0;
  for (const place of places) {
    row += 1;
    // Generation is synchronous: give timers and I/O (progress bar, sockets) a turn now and then.
    if (row % 4096 === 0) await setImmediate();
    yield check ? validatePlaceBody(row, place) : { ok: true, row, place };
  }
}

/**
 * Resolves what `geomesh load` was given: `cities`, `zips`, `synthetic:<n>[:<seed>]` (n up to
 * 50 million, seed an unsigned 32-bit integer, default 1) or a file path (GeoJSON, NDJSON, CSV;
 * a file literally named "cities" is `./cities`). Cities and ZIPs go through the same validator
 * as file rows; synthetic places are valid by construction and skip it (it would halve the
 * generation rate). Throws CONFIG_INVALID for a bad synthetic spec, an unknown format or a path that
 * is not a readable file.
 */
export async function resolveSource(
  spec: string,
  options: ReadFileOptions = {},
): Promise<ResolvedSource> {
  if (spec === "cities") {
    const places = cities();
    return { label: "cities", total: places.length, rows: asRows(places, true) };
  }
  if (spec === "zips") {
    const places = zips();
    return { label: "zips", total: places.length, rows: asRows(places, true) };
  }
  const synth = SYNTHETIC.exec(spec);
  if (synth) {
    const n = checkSyntheticCount(wholeNumber(synth[1] ?? "", "the count", spec));
    const seed =
      synth[2] === undefined ? DEFAULT_SEED : checkSeed(wholeNumber(synth[2], "the seed", spec));
    return {
      label: `synthetic ${n} (seed ${seed})`,
      total: n,
      rows: asRows(synthetic(n, { seed }), false),
    };
  }
  if (spec.startsWith("synthetic:")) {
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${JSON.stringify(spec.slice(0, 80))}: expected synthetic:<count>[:<seed>]`,
    );
  }
  let info;
  try {
    info = await stat(spec);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new GeomeshError(
      "CONFIG_INVALID",
      code === "ENOENT"
        ? `no such file: ${JSON.stringify(spec)} (datasets are cities, zips, synthetic:<n>[:<seed>])`
        : `cannot read ${JSON.stringify(spec)}: ${String(code)}`,
      { cause: error },
    );
  }
  if (!info.isFile())
    throw new GeomeshError("CONFIG_INVALID", `not a file: ${JSON.stringify(spec)}`);
  formatOf(spec, options.format);
  return { label: spec, total: undefined, rows: readPlacesFile(spec, options) };
}
