import { GeomeshError } from "@geomesh/errors";
import { describe, expect, it } from "vitest";
import type { IntersectsGeometry, LngLat } from "./model.js";
import { validateGeometry } from "./validate-geometry.js";

const square = (w: number, s: number, e: number, n: number): LngLat[] => [
  [w, s],
  [e, s],
  [e, n],
  [w, n],
  [w, s],
];

function failure(geometry: unknown): GeomeshError {
  try {
    validateGeometry(geometry as IntersectsGeometry);
  } catch (error) {
    if (error instanceof GeomeshError) return error;
    throw error;
  }
  throw new Error("geometry was accepted");
}

const polygon = (...rings: LngLat[][]): unknown => ({ type: "Polygon", coordinates: rings });

describe("validateGeometry", () => {
  it("accepts a simple polygon with a hole", () => {
    expect(() =>
      validateGeometry(polygon(square(0, 0, 10, 10), square(4, 4, 6, 6)) as IntersectsGeometry),
    ).not.toThrow();
  });

  it("rejects a longitude out of range, naming the position", () => {
    const e = failure(
      polygon([
        [0, 0],
        [200, 0],
        [1, 1],
        [0, 0],
      ]),
    );
    expect(e.code).toBe("GEO_INVALID_GEOMETRY");
    expect(e.message).toBe("geometry.coordinates[0][1]: longitude 200 is out of range [-180, 180]");
    expect(e.data).toEqual({ field: "geometry.coordinates[0][1]" });
  });

  it("rejects a latitude out of range", () => {
    expect(failure({ type: "Point", coordinates: [0, 91] }).message).toBe(
      "geometry.coordinates: latitude 91 is out of range [-90, 90]",
    );
  });

  it("rejects a ring with fewer than 4 positions", () => {
    expect(
      failure(
        polygon([
          [0, 0],
          [1, 0],
          [0, 0],
        ]),
      ).message,
    ).toBe("geometry.coordinates[0]: a ring needs at least 4 positions, got 3");
  });

  it("rejects an unclosed ring, showing both ends", () => {
    expect(
      failure(
        polygon([
          [1, 2],
          [5, 2],
          [5, 6],
          [3, 4],
        ]),
      ).message,
    ).toBe("geometry.coordinates[0]: ring is not closed (first [1,2] ≠ last [3,4])");
  });

  it("drops consecutive duplicate vertices as MongoDB does, then needs 3 distinct vertices", () => {
    expect(() =>
      validateGeometry(
        polygon([
          [0, 0],
          [1, 0],
          [1, 0],
          [1, 1],
          [0, 1],
          [0, 0],
        ]) as IntersectsGeometry,
      ),
    ).not.toThrow();
    expect(
      failure(
        polygon([
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
      ).message,
    ).toBe("geometry.coordinates[0]: a ring needs at least 3 distinct vertices, got 2");
  });

  it("rejects crossing edges (a bow tie)", () => {
    expect(
      failure(
        polygon([
          [0, 0],
          [1, 1],
          [1, 0],
          [0, 1],
          [0, 0],
        ]),
      ).message,
    ).toBe("geometry.coordinates[0]: ring intersects itself: edges 0→1 and 2→3 cross or touch");
  });

  it("rejects a ring that touches itself at a vertex", () => {
    expect(
      failure(
        polygon([
          [0, 0],
          [2, 0],
          [1, 1],
          [2, 2],
          [0, 2],
          [1, 1],
          [0, 0],
        ]),
      ).message,
    ).toBe(
      "geometry.coordinates[0]: ring touches itself: positions 2 and 5 are the same vertex [1,1]",
    );
  });

  it("rejects a ring that folds back along its own edge", () => {
    expect(
      failure(
        polygon([
          [0, 0],
          [2, 0],
          [1, 0],
          [1, 1],
          [0, 0],
        ]),
      ).message,
    ).toBe("geometry.coordinates[0]: ring folds back on itself at position 1");
  });

  it("rejects a hole outside the shell", () => {
    expect(failure(polygon(square(0, 0, 10, 10), square(20, 1, 21, 2))).message).toBe(
      "geometry.coordinates[1]: hole is not inside the shell geometry.coordinates[0]",
    );
  });

  it("rejects a hole crossing the shell", () => {
    const e = failure(polygon(square(0, 0, 10, 10), square(8, 1, 12, 2)));
    expect(e.message).toMatch(
      /^geometry\.coordinates\[1\]: hole crosses the shell geometry\.coordinates\[0\]: its edge \d→\d meets that ring's edge \d→\d$/,
    );
  });

  it("rejects a hole inside another hole", () => {
    expect(
      failure(polygon(square(0, 0, 10, 10), square(1, 1, 5, 5), square(2, 2, 3, 3))).message,
    ).toBe("geometry.coordinates[2]: hole lies inside another hole geometry.coordinates[1]");
  });

  it("allows a hole touching the shell at one vertex, as S2 does", () => {
    expect(() =>
      validateGeometry(
        polygon(square(0, 0, 10, 10), [
          [0, 0],
          [2, 1],
          [1, 2],
          [0, 0],
        ]) as IntersectsGeometry,
      ),
    ).not.toThrow();
  });

  it("rejects rings spanning more than a hemisphere", () => {
    expect(
      failure(
        polygon([
          [-170, 0],
          [-50, 0],
          [70, 0],
          [-170, 0],
        ]),
      ).message,
    ).toBe(
      "geometry.coordinates[0]: ring spans more than a hemisphere (polygons must be smaller than half the globe)",
    );
  });

  it("rejects edges between antipodal points, whose geodesic is undefined", () => {
    expect(
      failure({
        type: "LineString",
        coordinates: [
          [0, 0],
          [180, 0],
        ],
      }).message,
    ).toBe(
      "geometry.coordinates: positions 0 and 1 are antipodal, so the edge between them is undefined",
    );
  });

  it("rejects a LineString with one distinct position", () => {
    expect(
      failure({
        type: "LineString",
        coordinates: [
          [1, 1],
          [1, 1],
        ],
      }).message,
    ).toBe("geometry.coordinates: a LineString needs at least 2 distinct positions");
  });

  it("rejects more than 10 000 positions with LIMIT_EXCEEDED", () => {
    const ring: LngLat[] = Array.from({ length: 10_001 }, (_, i) => {
      const a = (i / 10_000) * 2 * Math.PI;
      return [Math.cos(a), Math.sin(a)];
    });
    ring[10_000] = ring[0]!;
    const e = failure(polygon(ring));
    expect(e.code).toBe("LIMIT_EXCEEDED");
    expect(e.message).toBe("geometry.coordinates: has 10001 positions; at most 10000 are allowed");
  });

  it("validates a 10 000-vertex polygon", () => {
    const ring: LngLat[] = Array.from({ length: 10_000 }, (_, i) => {
      const a = (i / 9_999) * 2 * Math.PI;
      return [10 * Math.cos(a), 10 * Math.sin(a)];
    });
    ring[9_999] = ring[0]!;
    expect(() => validateGeometry(polygon(ring) as IntersectsGeometry)).not.toThrow();
  });

  it("validates a 10 000-vertex comb of long north-south teeth (swept west to east)", () => {
    const comb: LngLat[] = [];
    for (let i = 0; i < 4998; i++) comb.push([-50 + i * 0.02, -10], [-50 + i * 0.02 + 0.01, 10]);
    comb.push([50, -20], [-50, -20], comb[0]!);
    expect(() => validateGeometry(polygon(comb) as IntersectsGeometry)).not.toThrow();
  });

  it("refuses a polygon whose crossing check would take quadratic work, with LIMIT_EXCEEDED", () => {
    const comb: LngLat[] = [];
    for (let i = 0; i < 4998; i++) comb.push([-50 + i * 0.02, -10], [-50 + i * 0.02 + 0.01, 10]);
    comb.push([50, -20], [-50, -20], comb[0]!);
    // Turned 45°, every tooth overlaps every other on both axes.
    const turned = comb.map(([x, y]): LngLat => [(x - y) * 0.35, (x + y) * 0.35]);
    const e = failure(polygon(turned));
    expect(e.code).toBe("LIMIT_EXCEEDED");
    expect(e.message).toBe(
      "geometry.coordinates: is too complex to check for self-intersection (more than 1000000 overlapping edge pairs)",
    );
  });

  it("rejects empty multi-geometries and names the member at fault", () => {
    expect(failure({ type: "MultiPolygon", coordinates: [] }).message).toBe(
      "geometry.coordinates: a MultiPolygon needs at least one polygon",
    );
    expect(
      failure({
        type: "MultiPolygon",
        coordinates: [
          [square(0, 0, 1, 1)],
          [
            [
              [0, 0],
              [1, 0],
              [0, 0],
            ],
          ],
        ],
      }).message,
    ).toBe("geometry.coordinates[1][0]: a ring needs at least 4 positions, got 3");
  });
});
