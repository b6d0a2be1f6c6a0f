/**
 * Known answers: distances computed by hand on MongoDB's sphere (R = 6 378 100 m), so a store
 * that uses another radius, planar distances or a different order fails loudly.
 *
 *   1°   = R·π/180 = 111 318.845 021 450 34 m      2° = 222 637.690 042 900 68 m
 *   60°  = R·π/3   = 6 679 130.701 287 02 m        90° = R·π/2 = 10 018 696.051 930 53 m
 *   180° = R·π     = 20 037 392.103 861 06 m
 */
import { describe, expect, it } from "vitest";
import { expectDistanceClose, type ConformanceContext } from "./conformance-context.js";
import { distancesOf, idsOf, place } from "./place-fixtures.js";

const ONE_DEG = 111318.84502145034;
const TWO_DEG = 222637.69004290068;
const SIXTY_DEG = 6679130.70128702;
const NINETY_DEG = 10018696.05193053;
const HALF_TURN = 20037392.10386106;

/** Registers the known-answer cases. */
export function knownAnswerCases(ctx: ConformanceContext): void {
  describe("known answers", () => {
    it("measures great-circle distances in metres on a 6 378 100 m sphere, nearest first, ties by id", async () => {
      const store = ctx.store();
      await store.upsert([
        place("n1", [0, 1]),
        place("e1", [1, 0]),
        place("s2", [0, -2]),
        place("w90", [-90, 0]),
        place("np", [0, 90]),
        place("anti", [180, 0]),
      ]);
      const page = await store.near({ point: [0, 0], limit: 10 });
      expect(idsOf(page)).toEqual(["e1", "n1", "s2", "np", "w90", "anti"]);
      const expected = [ONE_DEG, ONE_DEG, TWO_DEG, NINETY_DEG, NINETY_DEG, HALF_TURN];
      distancesOf(page).forEach((d, i) => expectDistanceClose(d, expected[i]!, `hit ${i}`));
      expect(page.next).toBeUndefined();
    });

    it("follows the great circle over the pole (45°N to 45°N across the globe is 90°)", async () => {
      const store = ctx.store();
      await store.upsert([place("over-pole", [180, 45]), place("sixty", [-170, 60])]);
      const a = await store.near({ point: [0, 45], limit: 2 });
      expect(idsOf(a)).toEqual(["sixty", "over-pole"]);
      expectDistanceClose(a.hits[1]?.distance, NINETY_DEG);
      const b = await store.near({ point: [10, 60], limit: 1 });
      expect(idsOf(b)).toEqual(["sixty"]);
      expectDistanceClose(b.hits[0]?.distance, SIXTY_DEG);
    });

    it("returns at most `limit` hits and a cursor only when more follow", async () => {
      const store = ctx.store();
      await store.upsert([place("a", [0, 1]), place("b", [0, 2]), place("c", [0, 3])]);
      const two = await store.near({ point: [0, 0], limit: 2 });
      expect(idsOf(two)).toEqual(["a", "b"]);
      expect(two.next).toBeTypeOf("string");
      const three = await store.near({ point: [0, 0], limit: 3 });
      expect(idsOf(three)).toEqual(["a", "b", "c"]);
      expect(three.next).toBeUndefined();
    });

    it("orders duplicate points at equal distance by id", async () => {
      const store = ctx.store();
      await store.upsert(
        ["dup-3", "dup-1", "dup-5", "dup-2", "dup-4"].map((id) => place(id, [10, 10])),
      );
      await store.upsert([place("closer", [10.4, 10])]);
      const page = await store.near({ point: [10.5, 10], limit: 10 });
      expect(idsOf(page)).toEqual(["closer", "dup-1", "dup-2", "dup-3", "dup-4", "dup-5"]);
      const d = distancesOf(page);
      for (let i = 2; i < d.length; i++) expect(d[i]).toBe(d[1]);
    });

    it("treats minDistance and maxDistance as inclusive, exactly at a hit's distance", async () => {
      const store = ctx.store();
      await store.upsert([place("a", [0, 1]), place("b", [0, 2]), place("c", [0, 3])]);
      const all = await store.near({ point: [0, 0], limit: 10 });
      expect(idsOf(all)).toEqual(["a", "b", "c"]);
      const [da, db] = distancesOf(all) as [number, number, number];
      expectDistanceClose(db, TWO_DEG);
      expect(
        idsOf(await store.near({ point: [0, 0], limit: 10, minDistance: db, maxDistance: db })),
      ).toEqual(["b"]);
      expect(idsOf(await store.near({ point: [0, 0], limit: 10, minDistance: da }))).toEqual([
        "a",
        "b",
        "c",
      ]);
      expect(idsOf(await store.near({ point: [0, 0], limit: 10, maxDistance: db }))).toEqual([
        "a",
        "b",
      ]);
      expect(idsOf(await store.near({ point: [0, 0], limit: 10, minDistance: db + 1 }))).toEqual([
        "c",
      ]);
      expect(
        await store.count({
          selection: { kind: "near", point: [0, 0], minDistance: db, maxDistance: db },
        }),
      ).toBe(1);
    });

    it("answers every query on an empty store with nothing", async () => {
      const store = ctx.store();
      expect(await store.near({ point: [0, 0], limit: 10 })).toEqual({ hits: [] });
      expect(
        await store.within({
          shape: {
            kind: "box",
            box: [
              [-180, -90],
              [180, 90],
            ],
          },
          limit: 10,
        }),
      ).toEqual({ hits: [] });
      expect(
        await store.within({ shape: { kind: "circle", center: [0, 0], radius: 1e6 }, limit: 10 }),
      ).toEqual({ hits: [] });
      expect(
        await store.intersects({ geometry: { type: "Point", coordinates: [0, 0] }, limit: 10 }),
      ).toEqual({ hits: [] });
      expect(
        await store.count({
          selection: {
            kind: "within",
            shape: {
              kind: "box",
              box: [
                [-180, -90],
                [180, 90],
              ],
            },
          },
        }),
      ).toBe(0);
      const grid = await store.aggregate({
        box: [
          [-10, -10],
          [10, 10],
        ],
        cells: [2, 3],
      });
      expect(grid).toEqual({
        box: [
          [-10, -10],
          [10, 10],
        ],
        cells: [2, 3],
        counts: [0, 0, 0, 0, 0, 0],
      });
      expect(await store.get("nope")).toBeUndefined();
      expect(await store.delete("nope")).toBeUndefined();
      expect((await store.stats()).count).toBe(0);
    });
  });
}
