import { describeGeoStoreConformance } from "./conformance.js";
import { MemoryGeoStore } from "./memory-geo-store.js";

// The suite's control: a trivially correct store built on the oracles must pass every case.
describeGeoStoreConformance("memory reference", () => Promise.resolve(new MemoryGeoStore()));
