export {
  CHANGES_KEPT,
  type GeoStore,
  type PlaceChange,
  type StoreOptions,
  type StoreStats,
  type UpsertOutcome,
} from "./geo-store.js";
export {
  StoreRegistry,
  createStore,
  defaultStoreRegistry,
  storeUriScheme,
  type StoreAdapter,
} from "./store-registry.js";
export { preparePlace, preparePlaces } from "./place-checks.js";
