/** The allow-listed filter: category (one or any), tags (all of), namePrefix, updatedAt [from, to). */
import type { Filter } from "@geomesh/geo";
import { describe, expect, it } from "vitest";
import type { ConformanceContext } from "./conformance-context.js";
import { idsOf, place } from "./place-fixtures.js";

const places = [
  place("f-1", [10, 10.01], {
    category: "cafe",
    tags: ["wifi", "outdoor"],
    name: "Café Rouge",
    updatedAt: "2024-01-01T00:00:00.000Z",
  }),
  place("f-2", [10, 10.02], {
    category: "cafe",
    tags: ["wifi"],
    name: "cafe bleu",
    updatedAt: "2024-06-01T00:00:00.000Z",
  }),
  place("f-3", [10, 10.03], {
    category: "bar",
    tags: ["outdoor", "wifi", "music"],
    name: "Cabin",
    updatedAt: "2024-06-01T00:00:00.000Z",
  }),
  place("f-4", [10, 10.04], {
    category: "shop",
    tags: [],
    name: "Bar One",
    updatedAt: "2025-01-01T00:00:00.000Z",
  }),
  place("f-5", [10, 10.05], {
    category: "bar",
    tags: ["music"],
    name: "Ca",
    updatedAt: "2024-12-31T23:59:59.999Z",
  }),
  place("f-6", [10, 12], {
    category: "cafe",
    tags: ["wifi", "outdoor"],
    name: "Café Far",
    updatedAt: "2024-03-01T00:00:00.000Z",
  }),
];

const cases: { title: string; filter: Filter; ids: string[] }[] = [
  { title: "one category", filter: { category: "cafe" }, ids: ["f-1", "f-2", "f-6"] },
  {
    title: "any of several categories",
    filter: { category: ["bar", "shop"] },
    ids: ["f-3", "f-4", "f-5"],
  },
  { title: "all of the tags", filter: { tags: ["wifi", "outdoor"] }, ids: ["f-1", "f-3", "f-6"] },
  {
    title: "a case-sensitive name prefix",
    filter: { namePrefix: "Ca" },
    ids: ["f-1", "f-3", "f-5", "f-6"],
  },
  { title: "a non-ASCII name prefix", filter: { namePrefix: "Café" }, ids: ["f-1", "f-6"] },
  {
    title: "updatedAt from inclusive to exclusive",
    filter: { updatedAt: { from: "2024-06-01T00:00:00.000Z", to: "2025-01-01T00:00:00.000Z" } },
    ids: ["f-2", "f-3", "f-5"],
  },
  {
    title: "updatedAt with only a lower bound",
    filter: { updatedAt: { from: "2025-01-01T00:00:00.000Z" } },
    ids: ["f-4"],
  },
  {
    title: "every clause at once",
    filter: {
      category: ["cafe"],
      tags: ["outdoor"],
      namePrefix: "Café",
      updatedAt: { to: "2024-12-01T00:00:00.000Z" },
    },
    ids: ["f-1", "f-6"],
  },
];

/** Registers the filter cases for near, within, intersects, count and aggregate. */
export function filterCases(ctx: ConformanceContext): void {
  describe("filters", () => {
    it.each(cases)("keeps only places matching $title", async ({ filter, ids }) => {
      const store = ctx.store();
      await store.upsert(places);
      const near = await store.near({ point: [10, 10], limit: 10, filter });
      expect(idsOf(near)).toEqual(ids); // ids were chosen so distance order is id order
      const box = await store.within({
        shape: {
          kind: "box",
          box: [
            [9, 9],
            [11, 13],
          ],
        },
        limit: 10,
        filter,
      });
      expect(idsOf(box)).toEqual(ids);
      const circle = await store.within({
        shape: { kind: "circle", center: [10, 11], radius: 200_000 },
        limit: 10,
        filter,
      });
      expect(idsOf(circle)).toEqual(ids);
      const polygon = {
        type: "Polygon" as const,
        coordinates: [
          [
            [9, 9],
            [11, 9],
            [11, 13],
            [9, 13],
            [9, 9],
          ],
        ],
      };
      expect(idsOf(await store.intersects({ geometry: polygon, limit: 10, filter }))).toEqual(ids);
      expect(
        await store.count({
          selection: {
            kind: "within",
            shape: {
              kind: "box",
              box: [
                [9, 9],
                [11, 13],
              ],
            },
          },
          filter,
        }),
      ).toBe(ids.length);
      expect(
        await store.count({
          selection: { kind: "near", point: [10, 10], maxDistance: 500_000 },
          filter,
        }),
      ).toBe(ids.length);
      const grid = await store.aggregate({
        box: [
          [9, 9],
          [11, 13],
        ],
        cells: [1, 2],
        filter,
      });
      expect(grid.counts.reduce((a, b) => a + b, 0)).toBe(ids.length);
    });

    it("widens a near search until enough places pass a selective filter", async () => {
      const store = ctx.store();
      await store.upsert(places);
      const page = await store.near({
        point: [10, 10],
        limit: 1,
        filter: {
          category: "cafe",
          updatedAt: { from: "2024-02-01T00:00:00.000Z", to: "2024-05-01T00:00:00.000Z" },
        },
      });
      expect(idsOf(page)).toEqual(["f-6"]);
      expect(page.next).toBeUndefined();
    });

    it("finds nothing when no place matches, without error", async () => {
      const store = ctx.store();
      await store.upsert(places);
      expect(
        await store.near({ point: [10, 10], limit: 5, filter: { category: "museum" } }),
      ).toEqual({ hits: [] });
      expect(
        await store.near({ point: [10, 10], limit: 5, filter: { tags: ["wifi", "nope"] } }),
      ).toEqual({ hits: [] });
    });
  });
}
