/**
 * Edge cases where lng/lat shortcuts go wrong: the poles (every longitude meets), the
 * antimeridian (±180 are neighbours), polygon holes, and geodesic (great-circle) polygon edges
 * that bulge poleward of the parallel through their vertices.
 */
import type { PolygonGeometry as Polygon } from "@geomesh/geo";
import { describe, expect, it } from "vitest";
import type { ConformanceContext } from "./conformance-context.js";
import { idsOf, place } from "./place-fixtures.js";

const sorted = (ids: string[]): string[] => [...ids].sort();

/** Registers the pole, antimeridian, hole and geodesic-edge cases. */
export function edgeCases(ctx: ConformanceContext): void {
  describe("poles", () => {
    const polar = [
      place("p-np", [0, 90]),
      place("p-a", [45, 89.5]),
      place("p-b", [-135, 89.5]),
      place("p-c", [90, 89]),
      place("p-out", [45, 89.1]),
      place("p-s", [0, -90]),
    ];

    it("finds neighbours across the pole in distance order", async () => {
      const store = ctx.store();
      await store.upsert(polar);
      const page = await store.near({ point: [0, 89.9], limit: 6 });
      expect(idsOf(page)).toEqual(["p-np", "p-a", "p-b", "p-out", "p-c", "p-s"]);
    });

    it("covers every longitude with a circle or a box that reaches the pole", async () => {
      const store = ctx.store();
      await store.upsert(polar);
      const circle = await store.within({
        shape: { kind: "circle", center: [0, 90], radius: 133_582.6 },
        limit: 10,
      });
      expect(idsOf(circle)).toEqual(["p-a", "p-b", "p-c", "p-np", "p-out"]);
      const box = await store.within({
        shape: {
          kind: "box",
          box: [
            [-180, 89],
            [180, 90],
          ],
        },
        limit: 10,
      });
      expect(idsOf(box)).toEqual(["p-a", "p-b", "p-c", "p-np", "p-out"]);
      const south = await store.within({
        shape: {
          kind: "box",
          box: [
            [-180, -90],
            [180, -89],
          ],
        },
        limit: 10,
      });
      expect(idsOf(south)).toEqual(["p-s"]);
    });

    it("contains the pole in a polygon around it, with edges bulging poleward", async () => {
      const store = ctx.store();
      await store.upsert(polar);
      // Vertices at 88.8°N, 90° apart: each edge peaks near 89.15°N, so [45, 89.1] is outside.
      const ring: Polygon = {
        type: "Polygon",
        coordinates: [
          [
            [0, 88.8],
            [90, 88.8],
            [180, 88.8],
            [-90, 88.8],
            [0, 88.8],
          ],
        ],
      };
      const page = await store.within({ shape: { kind: "polygon", geometry: ring }, limit: 10 });
      expect(idsOf(page)).toEqual(["p-a", "p-b", "p-c", "p-np"]);
    });
  });

  describe("antimeridian", () => {
    const wrap = [
      place("am-e", [179.9, 0]),
      place("am-w", [-179.8, 0]),
      place("am-n", [179.95, 5]),
      place("am-far", [170, 0]),
      place("am-x", [-171, 0]),
    ];

    it("finds nearest neighbours on both sides of ±180°", async () => {
      const store = ctx.store();
      await store.upsert(wrap);
      expect(idsOf(await store.near({ point: [180, 0], limit: 3 }))).toEqual([
        "am-e",
        "am-w",
        "am-n",
      ]);
      expect(idsOf(await store.near({ point: [-180, 0], limit: 2 }))).toEqual(["am-e", "am-w"]);
    });

    it("selects a wrapping box (west > east), a circle and a polygon that straddle it", async () => {
      const store = ctx.store();
      await store.upsert(wrap);
      const box = await store.within({
        shape: {
          kind: "box",
          box: [
            [179.5, -1],
            [-179.5, 6],
          ],
        },
        limit: 10,
      });
      expect(idsOf(box)).toEqual(["am-e", "am-n", "am-w"]);
      const circle = await store.within({
        shape: { kind: "circle", center: [180, 0], radius: 30_000 },
        limit: 10,
      });
      expect(idsOf(circle)).toEqual(["am-e", "am-w"]);
      const polygon: Polygon = {
        type: "Polygon",
        coordinates: [
          [
            [179, -1],
            [-179, -1],
            [-179, 1],
            [179, 1],
            [179, -1],
          ],
        ],
      };
      expect(
        idsOf(await store.within({ shape: { kind: "polygon", geometry: polygon }, limit: 10 })),
      ).toEqual(["am-e", "am-w"]);
      expect(
        await store.count({
          selection: {
            kind: "within",
            shape: {
              kind: "box",
              box: [
                [179.5, -1],
                [-179.5, 6],
              ],
            },
          },
        }),
      ).toBe(3);
    });

    it("bins a wrapping aggregate box west half first", async () => {
      const store = ctx.store();
      await store.upsert(wrap);
      const grid = await store.aggregate({
        box: [
          [179, -1],
          [-179, 6],
        ],
        cells: [2, 1],
      });
      expect(grid.counts).toEqual([2, 1]);
    });
  });

  describe("polygons", () => {
    it("excludes points in a hole and keeps points between hole and shell", async () => {
      const store = ctx.store();
      await store.upsert([
        place("in-hole", [5, 5]),
        place("in-a", [2, 2]),
        place("in-b", [8, 5]),
        place("out", [12, 5]),
      ]);
      const holed: Polygon = {
        type: "Polygon",
        coordinates: [
          [
            [0, 0],
            [10, 0],
            [10, 10],
            [0, 10],
            [0, 0],
          ],
          [
            [4, 4],
            [4, 6],
            [6, 6],
            [6, 4],
            [4, 4],
          ],
        ],
      };
      expect(
        idsOf(await store.within({ shape: { kind: "polygon", geometry: holed }, limit: 10 })),
      ).toEqual(["in-a", "in-b"]);
      expect(idsOf(await store.intersects({ geometry: holed, limit: 10 }))).toEqual([
        "in-a",
        "in-b",
      ]);
      expect(
        await store.count({
          selection: { kind: "within", shape: { kind: "polygon", geometry: holed } },
        }),
      ).toBe(2);
    });

    it("uses geodesic edges, unlike the lng/lat box with the same corners", async () => {
      const store = ctx.store();
      // Edges along 50°N and 60°N between ±30° bulge north to ≈ 54.0°N and ≈ 63.4°N at lng 0.
      await store.upsert([
        place("g-61", [0, 61]),
        place("g-52", [0, 52]),
        place("g-57", [0, 57]),
        place("g-64", [0, 64]),
      ]);
      const quad: Polygon = {
        type: "Polygon",
        coordinates: [
          [
            [-30, 50],
            [30, 50],
            [30, 60],
            [-30, 60],
            [-30, 50],
          ],
        ],
      };
      expect(
        idsOf(await store.within({ shape: { kind: "polygon", geometry: quad }, limit: 10 })),
      ).toEqual(["g-57", "g-61"]);
      const box = await store.within({
        shape: {
          kind: "box",
          box: [
            [-30, 50],
            [30, 60],
          ],
        },
        limit: 10,
      });
      expect(idsOf(box)).toEqual(["g-52", "g-57"]);
    });

    it("matches a MultiPolygon by any of its parts", async () => {
      const store = ctx.store();
      await store.upsert([place("m-1", [1, 1]), place("m-2", [21, 21]), place("m-3", [11, 11])]);
      const multi = {
        type: "MultiPolygon" as const,
        coordinates: [
          [
            [
              [0, 0],
              [2, 0],
              [2, 2],
              [0, 2],
              [0, 0],
            ],
          ],
          [
            [
              [20, 20],
              [22, 20],
              [22, 22],
              [20, 22],
              [20, 20],
            ],
          ],
        ],
      };
      expect(
        idsOf(await store.within({ shape: { kind: "polygon", geometry: multi }, limit: 10 })),
      ).toEqual(["m-1", "m-2"]);
    });
  });

  describe("intersects", () => {
    it("matches points equal to a Point, on a LineString, or in a Polygon", async () => {
      const store = ctx.store();
      await store.upsert([
        place("on-equator", [5, 0]),
        place("off-equator", [5, 0.01]),
        place("on-meridian", [179.9, 0.5]),
        place("exact", [12.5, 41.9]),
      ]);
      expect(
        idsOf(
          await store.intersects({
            geometry: { type: "Point", coordinates: [12.5, 41.9] },
            limit: 10,
          }),
        ),
      ).toEqual(["exact"]);
      const equator = await store.intersects({
        geometry: {
          type: "LineString",
          coordinates: [
            [0, 0],
            [10, 0],
          ],
        },
        limit: 10,
      });
      expect(idsOf(equator)).toEqual(["on-equator"]);
      const meridian = await store.intersects({
        geometry: {
          type: "MultiLineString",
          coordinates: [
            [
              [179.9, -1],
              [179.9, 1],
            ],
            [
              [0, 0],
              [10, 0],
            ],
          ],
        },
        limit: 10,
      });
      expect(sorted(idsOf(meridian))).toEqual(["on-equator", "on-meridian"]);
      const points = await store.intersects({
        geometry: {
          type: "MultiPoint",
          coordinates: [
            [12.5, 41.9],
            [5, 0],
            [50, 50],
          ],
        },
        limit: 10,
      });
      expect(idsOf(points)).toEqual(["exact", "on-equator"]);
    });

    it("treats lng 180 and -180, and every longitude at a pole, as the same point", async () => {
      const store = ctx.store();
      await store.upsert([
        place("east-seam", [180, 10]),
        place("west-seam", [-180, 10]),
        place("pole-0", [0, 90]),
        place("pole-77", [77, 90]),
      ]);
      expect(
        idsOf(
          await store.intersects({
            geometry: { type: "Point", coordinates: [180, 10] },
            limit: 10,
          }),
        ),
      ).toEqual(["east-seam", "west-seam"]);
      expect(
        idsOf(
          await store.intersects({
            geometry: { type: "Point", coordinates: [-120, 90] },
            limit: 10,
          }),
        ),
      ).toEqual(["pole-0", "pole-77"]);
      const circle = await store.within({
        shape: { kind: "circle", center: [-180, 10], radius: 1 },
        limit: 10,
      });
      expect(idsOf(circle)).toEqual(["east-seam", "west-seam"]);
      expect(
        await store.count({ selection: { kind: "near", point: [33, 90], maxDistance: 0.001 } }),
      ).toBe(2);
    });
  });
}
