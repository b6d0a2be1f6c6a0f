/**
 * The in-memory cell index and rows stay in step with the file: own writes after they commit,
 * other connections' writes (another process, here a second store on the same file) from the
 * outbox, and a reload from `places` when the outbox cannot replay them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  compareIds,
  decodeNearCursor,
  type LngLat,
  type Place,
  type PlaceInput,
} from "@geomesh/geo";
import { bruteForceNear, seededRandom } from "@geomesh/geo/testing";
import { place } from "@geomesh/store/testing";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedGeoStore } from "./embedded-geo-store.js";

const dir = mkdtempSync(join(tmpdir(), "geomesh-embedded-memindex-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `m-${++n}.sqlite`);

async function expectNearLikeOracle(
  store: EmbeddedGeoStore,
  oracle: ReadonlyMap<string, Place>,
  points: readonly LngLat[],
): Promise<void> {
  const all = [...oracle.values()];
  for (const point of points) {
    for (const query of [
      { point, limit: 7 },
      { point, limit: 3, minDistance: 50_000 },
      { point, limit: 5, maxDistance: 300_000 },
    ]) {
      const page = await store.near(query);
      const expected = bruteForceNear(all, query);
      // Whole places: a rename that did not move a place must show on every connection too.
      expect(page.hits.map((h) => [h.place, h.distance])).toEqual(
        expected.hits.map((h) => [h.place, h.distance]),
      );
      // Walking on with the cursor gives the oracle's next page too.
      if (page.next !== undefined) {
        expect(page.next).toBe(expected.next);
        const cursor = decodeNearCursor(page.next);
        const next = await store.near({ ...query, cursor });
        const expectedNext = bruteForceNear(all, { ...query, cursor });
        expect(next.hits.map((h) => h.place.id)).toEqual(expectedNext.hits.map((h) => h.place.id));
      }
    }
  }
}

describe("the embedded store's in-memory cell index", () => {
  it("follows writes from two connections on one file: creates, moves, renames, deletes, id reuse", async () => {
    const path = fresh();
    const a = new EmbeddedGeoStore({ path, region: "NE", synchronous: "normal" });
    const b = new EmbeddedGeoStore({ path, region: "NE", synchronous: "normal" });
    await a.init();
    await b.init();
    const rnd = seededRandom(99);
    const oracle = new Map<string, Place>();
    const at = (): LngLat => [-75 + rnd() * 4, 40 + rnd() * 3];
    for (let round = 0; round < 30; round++) {
      const writer = round % 3 === 0 ? b : a;
      const batch = new Map<string, PlaceInput>();
      // Ids from a small pool, so later rounds update (often move) and re-create.
      for (let i = 0; i < 20; i++) {
        const id = `p${Math.floor(rnd() * 150)}`;
        const before = oracle.get(id);
        // A third of the updates rename in place (same location, new name and tags).
        const location = before !== undefined && rnd() < 0.33 ? before.location.coordinates : at();
        batch.set(id, {
          ...place(id, location),
          name: `n${round}\u0000${id}`,
          tags: [`r${round}`],
        });
      }
      const outcomes = await writer.upsert([...batch.values()]);
      for (const o of outcomes) oracle.set(o.id, o.change.place);
      for (let i = 0; i < 4; i++) {
        const id = `p${Math.floor(rnd() * 150)}`;
        const deleter = rnd() < 0.5 ? a : b;
        if ((await deleter.delete(id)) !== undefined) oracle.delete(id);
      }
      const points = [at(), at()];
      await expectNearLikeOracle(a, oracle, points);
      await expectNearLikeOracle(b, oracle, points);
      // within() reads its rows from memory too (through a transaction, not near's fast path).
      const box = {
        kind: "box" as const,
        box: [
          [-76, 39],
          [-70, 44],
        ] as [LngLat, LngLat],
      };
      const everything = [...oracle.values()].sort((x, y) => compareIds(x.id, y.id));
      for (const store of [a, b])
        expect((await store.within({ shape: box, limit: 500 })).hits.map((h) => h.place)).toEqual(
          everything,
        );
    }
    await a.close();
    await b.close();
  });

  it("reloads from the file when the outbox cannot replay another writer's changes", async () => {
    const path = fresh();
    const a = new EmbeddedGeoStore({ path, region: "NE", synchronous: "normal" });
    const b = new EmbeddedGeoStore({ path, region: "NE", synchronous: "normal" });
    await a.init();
    await b.init();
    const oracle = new Map<string, Place>();
    for (const o of await a.upsert([place("x", [10, 10]), place("y", [10.5, 10])]))
      oracle.set(o.id, o.change.place);
    await expectNearLikeOracle(b, oracle, [[10, 10]]);
    // b's next changes as an older build wrote them (no pk), then pruned away entirely.
    for (const o of await a.upsert([place("x", [20, 20]), place("z", [10.1, 10])]))
      oracle.set(o.id, o.change.place);
    const raw = new Database(path);
    raw.exec("UPDATE changes SET pk = NULL WHERE seq > 2");
    await expectNearLikeOracle(b, oracle, [
      [10, 10],
      [20, 20],
    ]);
    await a.delete("y");
    oracle.delete("y");
    raw.exec("DELETE FROM changes");
    raw.close();
    await expectNearLikeOracle(b, oracle, [
      [10, 10],
      [20, 20],
    ]);
    await a.close();
    await b.close();
  });

  it("answers the same as the file's B-tree plan with memoryIndex off", async () => {
    const path = fresh();
    const rnd = seededRandom(5);
    const mem = new EmbeddedGeoStore({ path, region: "NE", synchronous: "normal" });
    await mem.init();
    const places = Array.from({ length: 3000 }, (_, i) =>
      place(`q${i}`, [-180 + rnd() * 360, -90 + rnd() * 180]),
    );
    await mem.upsert(places);
    const file = new EmbeddedGeoStore({ path, region: "NE", memoryIndex: false });
    await file.init();
    const fileRows = new EmbeddedGeoStore({ path, region: "NE", memoryRows: false });
    await fileRows.init();
    for (const point of [
      [179.99, 0],
      [-180, 89.9],
      [0, -90],
      [12, 40],
    ] as LngLat[]) {
      const q = { point, limit: 12 };
      const expected = await file.near(q);
      expect(await mem.near(q)).toEqual(expected);
      expect(await fileRows.near(q)).toEqual(expected);
    }
    await mem.close();
    await file.close();
    await fileRows.close();
  });
});
