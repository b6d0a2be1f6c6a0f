export { describeGeoStoreConformance } from "./conformance.js";
export {
  allIdPages,
  allNearPages,
  expectDistanceClose,
  type ConformanceContext,
  type ConformanceOptions,
  type StoreFactory,
} from "./conformance-context.js";
export { MemoryGeoStore } from "./memory-geo-store.js";
export { FIXTURE_TIME, distancesOf, idsOf, place } from "./place-fixtures.js";
export { expectNearPageMatches, randomDataset } from "./randomized-cases.js";
