import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeGeoStoreConformance } from "@geomesh/store/testing";
import { afterAll } from "vitest";
import { EmbeddedGeoStore } from "./embedded-geo-store.js";

const dir = mkdtempSync(join(tmpdir(), "geomesh-embedded-conformance-"));
let n = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeGeoStoreConformance("embedded SQLite", () =>
  Promise.resolve(
    new EmbeddedGeoStore({
      path: join(dir, `store-${++n}.sqlite`),
      region: "TEST",
      synchronous: "normal",
    }),
  ),
);

// The file's B-tree plan for near() (what filtered kNN always uses) stays held to the same suite.
describeGeoStoreConformance("embedded SQLite, memoryIndex off", () =>
  Promise.resolve(
    new EmbeddedGeoStore({
      path: join(dir, `store-${++n}.sqlite`),
      region: "TEST",
      synchronous: "normal",
      memoryIndex: false,
    }),
  ),
);
