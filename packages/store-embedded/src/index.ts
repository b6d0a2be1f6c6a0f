import { defaultStoreRegistry, type StoreAdapter } from "@geomesh/store";
import { EmbeddedGeoStore } from "./embedded-geo-store.js";
import { sqlitePathOf } from "./sqlite-uri.js";

export {
  EmbeddedGeoStore,
  type EmbeddedQueryStats,
  type EmbeddedStoreOptions,
} from "./embedded-geo-store.js";
export { sqlitePathOf } from "./sqlite-uri.js";
export { cellOf, cellRanges, CELL_ORDER } from "./hilbert-cell.js";

/** `sqlite:<file>` → an embedded store on that file (durable defaults: WAL, synchronous=FULL). */
export const embeddedStoreAdapter: StoreAdapter = {
  schemes: ["sqlite"],
  create: (uri, options) => new EmbeddedGeoStore({ ...options, path: sqlitePathOf(uri) }),
};

// Importing the package makes `createStore("sqlite:…")` work (the registry lives in @geomesh/store).
defaultStoreRegistry.register(embeddedStoreAdapter);
