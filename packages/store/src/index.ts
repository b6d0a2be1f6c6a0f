export type { GeoStore, StoreOptions, StoreStats, UpsertOutcome } from "./geo-store.js";
export {
  StoreRegistry,
  createStore,
  defaultStoreRegistry,
  storeUriScheme,
  type StoreAdapter,
} from "./store-registry.js";
export { preparePlace, preparePlaces } from "./place-checks.js";
