/** Cursor paging: following `next` visits every hit of the unpaged query exactly once, in order. */
import { describe, expect, it } from "vitest";
import { allIdPages, allNearPages, type ConformanceContext } from "./conformance-context.js";
import { idsOf, place } from "./place-fixtures.js";

/** 30 places on a line east of [0, 0], every third position shared by three ids (ties). */
function line(): ReturnType<typeof place>[] {
  const out = [];
  for (let i = 0; i < 10; i++) {
    for (const suffix of ["c", "a", "b"])
      out.push(place(`l-${String(i).padStart(2, "0")}-${suffix}`, [0.01 * (i + 1), 0]));
  }
  return out;
}

/** Registers the paging cases. */
export function pagingCases(ctx: ConformanceContext): void {
  describe("cursor paging", () => {
    it.each([1, 2, 4, 7])(
      "pages a near query with ties (limit %i) visiting each hit once",
      async (limit) => {
        const store = ctx.store();
        await store.upsert(line());
        const whole = await store.near({ point: [0, 0], limit: 100 });
        expect(whole.hits).toHaveLength(30);
        const { hits, pages } = await allNearPages(store, { point: [0, 0], limit });
        expect(hits.map((h) => h.place.id)).toEqual(idsOf(whole));
        expect(hits.map((h) => h.distance)).toEqual(whole.hits.map((h) => h.distance));
        expect(pages).toBe(Math.ceil(30 / limit));
      },
    );

    it("pages a near query bounded by minDistance and maxDistance", async () => {
      const store = ctx.store();
      await store.upsert(line());
      const query = {
        point: [0, 0] as [number, number],
        limit: 4,
        minDistance: 2000,
        maxDistance: 8000,
      };
      const whole = await store.near({ ...query, limit: 100 });
      expect(whole.hits.length).toBeGreaterThan(10);
      const { hits } = await allNearPages(store, query);
      expect(hits.map((h) => h.place.id)).toEqual(idsOf(whole));
    });

    it("pages within and intersects results by id, each id once", async () => {
      const store = ctx.store();
      await store.upsert(line());
      const circle = {
        shape: { kind: "circle" as const, center: [0.05, 0] as [number, number], radius: 3000 },
        limit: 4,
      };
      const whole = await store.within({ ...circle, limit: 100 });
      const paged = await allIdPages((q) => store.within(q), circle);
      expect(paged.hits.map((h) => h.place.id)).toEqual(idsOf(whole));
      expect(idsOf(whole)).toEqual([...idsOf(whole)].sort());
      const box = {
        shape: {
          kind: "box" as const,
          box: [
            [0, -1],
            [0.055, 1],
          ] as [[number, number], [number, number]],
        },
        limit: 5,
      };
      const boxPaged = await allIdPages((q) => store.within(q), box);
      expect(boxPaged.hits.map((h) => h.place.id)).toEqual(
        idsOf(await store.within({ ...box, limit: 100 })),
      );
      expect(boxPaged.hits).toHaveLength(15);
      const polygon = {
        geometry: {
          type: "Polygon" as const,
          coordinates: [
            [
              [0.005, -1],
              [0.075, -1],
              [0.075, 1],
              [0.005, 1],
              [0.005, -1],
            ],
          ],
        },
        limit: 3,
      };
      const polyPaged = await allIdPages((q) => store.intersects(q), polygon);
      expect(polyPaged.hits).toHaveLength(21);
      expect(polyPaged.hits.map((h) => h.place.id)).toEqual(
        idsOf(await store.intersects({ ...polygon, limit: 100 })),
      );
    });
  });
}
