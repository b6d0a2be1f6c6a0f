export { type RowResult, type RejectedRow, rejectRow, formatRowError } from "./row-result.js";
export {
  type PlaceFormat,
  type ReadOptions,
  type CsvReadOptions,
  DEFAULT_MAX_ROW_BYTES,
} from "./read-options.js";
export { readGeoJson } from "./read-geojson.js";
export { readNdjson } from "./read-ndjson.js";
export { readCsv } from "./read-csv.js";
export {
  readPlacesFile,
  detectFormat,
  formatOf,
  type ReadFileOptions,
} from "./read-places-file.js";
export { validatePlaceBody } from "./validate-place.js";
export {
  ATTRIBUTION,
  US_TERRITORIES,
  cities,
  cityPlace,
  usCities,
  type UsCity,
} from "./us-cities.js";
export { zips, zipPlace, zipCentroids, type ZipCentroid } from "./us-zips.js";
export {
  synthetic,
  sigmaKm,
  checkSyntheticCount,
  checkSeed,
  MAX_SYNTHETIC,
  DEFAULT_SEED,
  SYNTHETIC_CATEGORIES,
  SYNTHETIC_TAGS,
  type SyntheticOptions,
} from "./synthetic.js";
export { createPrng, type Prng } from "./prng.js";
export { resolveSource, type ResolvedSource } from "./resolve-source.js";
export {
  DEFAULT_LOAD_BATCH,
  loadPlaces,
  OUTSIDE_EVERY_REGION,
  type BatchOutcome,
  type ItemRejection,
  type LoadOptions,
  type LoadProgress,
  type LoadSummary,
  type RetryOptions,
} from "./load-places.js";
export { ReasonTally, OTHER_REASONS, type ReasonCount } from "./reason-tally.js";
export { formatSummary, type FormatSummaryOptions } from "./format-summary.js";
