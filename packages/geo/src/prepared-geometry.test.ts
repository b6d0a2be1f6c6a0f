import fc from "fast-check";
import type { Polygon } from "geojson";
import { describe, expect, it } from "vitest";
import type { IntersectsGeometry, LngLat } from "./model.js";
import { prepareGeometry } from "./prepared-geometry.js";
import { distanceToGeometry, EARTH_RADIUS_M, pointIntersects } from "./spherical.js";

/** A star-shaped ring (simple, so every point test is well defined) around a centre. */
function star(center: LngLat, radiusDeg: number, radii: readonly number[]): LngLat[] {
  const n = radii.length;
  const ring = radii.map((f, i): LngLat => {
    const a = (i / n) * 2 * Math.PI;
    const r = radiusDeg * (0.3 + 0.7 * f);
    const lat = Math.max(-85, Math.min(85, center[1] + r * Math.sin(a)));
    let lng = center[0] + (r * Math.cos(a)) / Math.cos((center[1] * Math.PI) / 180);
    lng = ((((lng + 180) % 360) + 360) % 360) - 180;
    return [lng, lat];
  });
  ring.push(ring[0]!);
  return ring;
}

const center = fc.tuple(
  fc.double({ min: -180, max: 180, noNaN: true }),
  fc.double({ min: -70, max: 70, noNaN: true }),
);
const radii = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
  minLength: 3,
  maxLength: 400,
});
const offset = fc.tuple(
  fc.double({ min: -1.5, max: 1.5, noNaN: true }),
  fc.double({ min: -1.5, max: 1.5, noNaN: true }),
);

describe("PreparedGeometry", () => {
  it("answers intersects and distance exactly like the plain O(n) functions", () => {
    fc.assert(
      fc.property(
        center,
        fc.double({ min: 0.01, max: 20, noNaN: true }),
        radii,
        fc.array(offset, { minLength: 1, maxLength: 30 }),
        (c, r, rs, offsets) => {
          const geometry: Polygon = { type: "Polygon", coordinates: [star(c, r, rs)] };
          const prepared = prepareGeometry(geometry);
          for (const [dx, dy] of offsets) {
            const p: LngLat = [
              ((((c[0] + dx * r + 180) % 360) + 360) % 360) - 180,
              Math.max(-90, Math.min(90, c[1] + dy * r)),
            ];
            expect(prepared.intersects(p)).toBe(pointIntersects(p, geometry));
            expect(prepared.distance(p) * EARTH_RADIUS_M).toBeCloseTo(
              distanceToGeometry(p, geometry),
              6,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("counts points on vertices and edges of lines and polygons", () => {
    const line: IntersectsGeometry = {
      type: "LineString",
      coordinates: [
        [0, 0],
        [10, 0],
        [10, 10],
      ],
    };
    const prepared = prepareGeometry(line);
    expect(prepared.intersects([10, 5])).toBe(true);
    expect(prepared.intersects([5, 0])).toBe(true);
    expect(prepared.intersects([5, 5])).toBe(false);
  });

  it("decides nearness between geometries", () => {
    const a = prepareGeometry({
      type: "Polygon",
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 1],
          [0, 0],
        ],
      ],
    });
    const b = prepareGeometry({ type: "Point", coordinates: [2, 0.5] });
    const oneDegree = Math.PI / 180;
    expect(a.near(b, 1.01 * oneDegree)).toBe(true);
    expect(a.near(b, 0.99 * oneDegree)).toBe(false);
    const inner = prepareGeometry({ type: "Point", coordinates: [0.5, 0.5] });
    expect(a.near(inner, 0)).toBe(true);
  });
});
