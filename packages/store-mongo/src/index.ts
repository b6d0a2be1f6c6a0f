import { defaultStoreRegistry, type StoreAdapter } from "@geomesh/store";
import { MongoGeoStore } from "./mongo-geo-store.js";

export {
  MongoGeoStore,
  collectionForRegion,
  databaseOfUri,
  type MongoStoreOptions,
  type PlaceDocument,
} from "./mongo-geo-store.js";
export { classifyMongoError } from "./mongo-errors.js";
export { mongoFilter } from "./mongo-filter.js";
export {
  aggregateCellExpression,
  boxCap,
  boxQuery,
  intersectsQuery,
  withinQuery,
} from "./mongo-shapes.js";

/** `mongodb://…` / `mongodb+srv://…` → a MongoDB store (database from the URI, else `geomesh`). */
export const mongoStoreAdapter: StoreAdapter = {
  schemes: ["mongodb", "mongodb+srv"],
  create: (uri, options) => new MongoGeoStore({ ...options, uri }),
};

// Importing the package makes `createStore("mongodb://…")` work (the registry lives in @geomesh/store).
defaultStoreRegistry.register(mongoStoreAdapter);
