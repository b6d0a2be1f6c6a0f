export {
  CHANGES_KEPT,
  type ChangeMove,
  type ChangeRange,
  type DeleteOptions,
  type GeoStore,
  type PlaceChange,
  type StoreOptions,
  type StoreStats,
  type UpsertOptions,
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
