import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LngLat, PlaceInput } from "@geomesh/geo";
import { bruteForceNear, seededRandom } from "@geomesh/geo/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedGeoStore } from "./embedded-geo-store.js";

const N = 40_000;
const dir = mkdtempSync(join(tmpdir(), "geomesh-embedded-knn-"));
const rnd = seededRandom(42);
const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
const centres: [LngLat, number][] = Array.from({ length: 40 }, () => [
  [-124 + rnd() * 56, 26 + rnd() * 22],
  0.02 + rnd() * 0.6,
]);
const places: PlaceInput[] = Array.from({ length: N }, (_, i) => {
  const [[x, y], s] =
    i % 10 === 0
      ? [[-124 + rnd() * 56, 26 + rnd() * 22] as LngLat, 0]
      : centres[i % centres.length]!;
  return {
    id: `k${String(i).padStart(6, "0")}`,
    name: `n${i}`,
    category: i % 5 === 0 ? "rare" : "common",
    location: { type: "Point", coordinates: [x + gauss() * s, y + gauss() * s * 0.8] },
    tags: [],
    properties: {},
    updatedAt: "2024-01-01T00:00:00.000Z",
  };
});
let store: EmbeddedGeoStore;

beforeAll(async () => {
  store = new EmbeddedGeoStore({
    path: join(dir, "knn.sqlite"),
    region: "KNN",
    synchronous: "normal",
  });
  await store.init();
  for (let i = 0; i < N; i += 5000) await store.upsert(places.slice(i, i + 5000));
}, 120_000);

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("kNN on the embedded store", () => {
  it("reads a small neighbourhood per query, never the whole store, and matches the oracle", async () => {
    const stored = places.map((p) => ({ ...p, updatedAt: "2024-01-01T00:00:00.000Z" }));
    const queries: LngLat[] = Array.from({ length: 150 }, (_, i) => {
      const p = places[Math.floor(rnd() * N)]!.location.coordinates;
      return i % 3 === 0
        ? [-124 + rnd() * 56, 26 + rnd() * 22]
        : [p[0] + (rnd() - 0.5) * 0.05, p[1] + (rnd() - 0.5) * 0.05];
    });
    await store.near({ point: [-100, 40], limit: 10 }); // samples the density model
    let worst = 0;
    let total = 0;
    let passes = 0;
    for (const [i, point] of queries.entries()) {
      const before = { ...store.queryStats };
      const page = await store.near({ point, limit: 10 });
      const read = store.queryStats.candidates - before.candidates;
      passes = Math.max(passes, store.queryStats.scans - before.scans);
      worst = Math.max(worst, read);
      total += read;
      // The oracle is O(n log n) per query: check a sample.
      if (i % 6 === 0)
        expect(page.hits.map((h) => h.place.id)).toEqual(
          bruteForceNear(stored, { point, limit: 10 }).hits.map((h) => h.place.id),
        );
    }
    expect(total / queries.length, "average candidates per query").toBeLessThan(150);
    expect(worst, "worst candidates per query").toBeLessThan(N / 20);
    expect(passes, "most index passes of one query").toBeLessThanOrEqual(6);
  }, 60_000);

  it("widens past non-matching places for a filtered kNN without scanning everything", async () => {
    const before = store.queryStats.candidates;
    const page = await store.near({ point: [-100, 40], limit: 10, filter: { category: "rare" } });
    expect(page.hits).toHaveLength(10);
    expect(page.hits.every((h) => h.place.category === "rare")).toBe(true);
    expect(store.queryStats.candidates - before).toBeLessThan(N / 10);
  });

  it("pages a within query over most of the store by walking the id index", async () => {
    const before = store.queryStats.candidates;
    const page = await store.within({
      shape: { kind: "circle", center: [-96, 37], radius: 3_000_000 },
      limit: 20,
    });
    expect(page.hits.map((h) => h.place.id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(6, "0")}`).filter((id) =>
        page.hits.some((h) => h.place.id === id),
      ),
    );
    expect(store.queryStats.candidates - before).toBeLessThan(1000);
  });
});
