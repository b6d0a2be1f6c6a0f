import type { Polygon } from "geojson";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Box, IntersectsGeometry, LngLat } from "./model.js";
import { prepareGeometry } from "./prepared-geometry.js";
import {
  aggregateCellOf,
  arcBounds,
  boxBounds,
  BOUNDS_PAD_DEG,
  circleBounds,
  distanceMeters,
  DistanceFrom,
  distanceToPolygon,
  distanceToSegment,
  EARTH_RADIUS_M,
  expandBox,
  geometryBounds,
  pointInBox,
  pointInCircle,
  pointInPolygon,
  pointIntersects,
} from "./spherical.js";
import { add, normalize, norm, scale, toLngLat, toVec3, type Vec3 } from "./vector3.js";

const ONE_DEGREE_M = (EARTH_RADIUS_M * Math.PI) / 180;
const square = (w: number, s: number, e: number, n: number): LngLat[] => [
  [w, s],
  [e, s],
  [e, n],
  [w, n],
  [w, s],
];
const poly = (...rings: LngLat[][]): Polygon => ({ type: "Polygon", coordinates: rings });
const inBoxes = (p: LngLat, boxes: Box[]): boolean => boxes.some((b) => pointInBox(p, b));

describe("distanceMeters", () => {
  it("uses MongoDB's radius: 1° of longitude on the equator is 6378100·π/180 m", () => {
    expect(EARTH_RADIUS_M).toBe(6378100);
    expect(distanceMeters([0, 0], [1, 0])).toBeCloseTo(ONE_DEGREE_M, 6);
    expect(distanceMeters([0, 0], [0, 1])).toBeCloseTo(ONE_DEGREE_M, 6);
  });

  it("measures half the circumference between antipodes", () => {
    expect(distanceMeters([0, 0], [180, 0])).toBeCloseTo(Math.PI * EARTH_RADIUS_M, 6);
    expect(distanceMeters([10, 20], [-170, -20])).toBeCloseTo(Math.PI * EARTH_RADIUS_M, 6);
    expect(distanceMeters([0, 90], [0, -90])).toBeCloseTo(Math.PI * EARTH_RADIUS_M, 6);
  });

  it("treats every longitude at a pole as the same point", () => {
    expect(distanceMeters([0, 90], [123, 90])).toBeLessThan(1e-6);
    expect(distanceMeters([45, 89], [-135, 89])).toBeCloseTo(2 * ONE_DEGREE_M, 6);
  });

  it("crosses the antimeridian the short way", () => {
    expect(distanceMeters([179.5, 0], [-179.5, 0])).toBeCloseTo(ONE_DEGREE_M, 6);
  });

  it("stays accurate for millimetre separations", () => {
    const d = distanceMeters([0, 0], [1e-8, 0]);
    expect(Math.abs(d - ONE_DEGREE_M * 1e-8) / d).toBeLessThan(1e-9);
  });

  it("is symmetric and obeys the triangle inequality", () => {
    const pos = fc.tuple(
      fc.double({ min: -180, max: 180, noNaN: true }),
      fc.double({ min: -90, max: 90, noNaN: true }),
    );
    fc.assert(
      fc.property(pos, pos, pos, (a, b, c) => {
        const ab = distanceMeters(a, b);
        expect(ab).toBeCloseTo(distanceMeters(b, a), 6);
        expect(ab).toBeLessThanOrEqual(distanceMeters(a, c) + distanceMeters(c, b) + 1e-6);
      }),
      { numRuns: 300 },
    );
  });
});

describe("DistanceFrom", () => {
  it("gives distanceMeters bit for bit, near and far, across the antimeridian and the poles", () => {
    const pos = fc.tuple(
      fc.double({ min: -180, max: 180, noNaN: true }),
      fc.double({ min: -90, max: 90, noNaN: true }),
    );
    const near = fc.tuple(
      fc.double({ min: -1e-3, max: 1e-3, noNaN: true }),
      fc.double({ min: -1e-3, max: 1e-3, noNaN: true }),
    );
    fc.assert(
      fc.property(pos, pos, near, (a, b, dx) => {
        const from = new DistanceFrom(a);
        const close: LngLat = [a[0] + dx[0], Math.max(-90, Math.min(90, a[1] + dx[1]))];
        const antipode: LngLat = [a[0] + 180 + dx[0], -a[1]];
        for (const p of [b, close, antipode, a])
          expect(Object.is(from.meters(p[0], p[1]), distanceMeters(a, p))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("pointInPolygon", () => {
  it("follows geodesic edges: a long edge at 60°N bulges north, so a point just north of the planar edge is inside", () => {
    const p = poly(square(0, 50, 40, 60));
    expect(pointInPolygon([20, 61], p)).toBe(true);
    expect(pointInPolygon([20, 61.6], p)).toBe(false);
  });

  it("follows geodesic edges: the southern edge at 50°N also bulges north, leaving planar-inside points outside", () => {
    const p = poly(square(0, 50, 40, 60));
    expect(pointInPolygon([20, 51], p)).toBe(false);
    expect(pointInPolygon([20, 52], p)).toBe(true);
  });

  it("excludes the interior of holes but keeps their boundary", () => {
    const p = poly(square(0, 0, 10, 10), square(4, 4, 6, 6));
    expect(pointInPolygon([2, 2], p)).toBe(true);
    expect(pointInPolygon([5, 5], p)).toBe(false);
    expect(pointInPolygon([4, 5], p)).toBe(true);
  });

  it("counts points on the outer boundary and vertices as inside, as $geoWithin does", () => {
    const p = poly(square(0, 0, 10, 10));
    expect(pointInPolygon([5, 0], p)).toBe(true);
    expect(pointInPolygon([0, 0], p)).toBe(true);
    expect(pointInPolygon([0, 5], p)).toBe(true);
    expect(pointInPolygon([5, -0.0001], p)).toBe(false);
  });

  it("handles polygons across the antimeridian", () => {
    const p = poly([
      [170, -10],
      [-170, -10],
      [-170, 10],
      [170, 10],
      [170, -10],
    ]);
    expect(pointInPolygon([180, 0], p)).toBe(true);
    expect(pointInPolygon([-180, 0], p)).toBe(true);
    expect(pointInPolygon([-179, 5], p)).toBe(true);
    expect(pointInPolygon([175, -5], p)).toBe(true);
    expect(pointInPolygon([0, 0], p)).toBe(false);
    expect(pointInPolygon([160, 0], p)).toBe(false);
  });

  it("handles a polygon around a pole", () => {
    const p = poly([
      [0, 80],
      [90, 80],
      [180, 80],
      [-90, 80],
      [0, 80],
    ]);
    expect(pointInPolygon([0, 90], p)).toBe(true);
    expect(pointInPolygon([45, 85], p)).toBe(true);
    expect(pointInPolygon([0, 70], p)).toBe(false);
    expect(pointInPolygon([0, -90], p)).toBe(false);
  });

  it("does not mistake the antipode of a small polygon for its inside", () => {
    const p = poly(square(-1, -1, 1, 1));
    expect(pointInPolygon([0, 0], p)).toBe(true);
    expect(pointInPolygon([180, 0], p)).toBe(false);
  });

  it("ignores ring orientation", () => {
    const ccw = square(0, 0, 10, 10);
    expect(pointInPolygon([5, 5], poly([...ccw].reverse()))).toBe(true);
    expect(pointInPolygon([15, 5], poly([...ccw].reverse()))).toBe(false);
  });

  it("accepts MultiPolygons", () => {
    const mp = {
      type: "MultiPolygon" as const,
      coordinates: [[square(0, 0, 1, 1)], [square(10, 10, 11, 11)]],
    };
    expect(pointInPolygon([10.5, 10.5], mp)).toBe(true);
    expect(pointInPolygon([5, 5], mp)).toBe(false);
  });
});

describe("pointInBox", () => {
  it("includes all four edges", () => {
    const box: Box = [
      [0, 0],
      [10, 10],
    ];
    for (const p of [
      [0, 0],
      [10, 10],
      [0, 5],
      [5, 10],
    ] as LngLat[]) {
      expect(pointInBox(p, box)).toBe(true);
    }
    expect(pointInBox([10.000001, 5], box)).toBe(false);
  });

  it("wraps across the antimeridian when west > east", () => {
    const box: Box = [
      [170, -10],
      [-170, 10],
    ];
    expect(pointInBox([175, 0], box)).toBe(true);
    expect(pointInBox([180, 0], box)).toBe(true);
    expect(pointInBox([-180, 0], box)).toBe(true);
    expect(pointInBox([-175, 0], box)).toBe(true);
    expect(pointInBox([0, 0], box)).toBe(false);
    expect(pointInBox([175, 11], box)).toBe(false);
  });

  it("is a flat lng/lat rectangle, not a geodesic polygon", () => {
    // On the 60°N parallel: inside the box, though south of the geodesic between the corners.
    expect(
      pointInBox(
        [20, 60],
        [
          [0, 50],
          [40, 60],
        ],
      ),
    ).toBe(true);
  });
});

describe("pointInCircle", () => {
  it("includes the rim", () => {
    const r = distanceMeters([0, 0], [1, 0]);
    expect(pointInCircle([1, 0], [0, 0], r)).toBe(true);
    expect(pointInCircle([1.000001, 0], [0, 0], r)).toBe(false);
  });
});

describe("pointIntersects", () => {
  it("counts points on lines, on polygon boundaries, and equal points", () => {
    expect(
      pointIntersects([5, 0], {
        type: "LineString",
        coordinates: [
          [0, 0],
          [10, 0],
        ],
      }),
    ).toBe(true);
    expect(
      pointIntersects([5, 0.001], {
        type: "LineString",
        coordinates: [
          [0, 0],
          [10, 0],
        ],
      }),
    ).toBe(false);
    expect(pointIntersects([1, 2], { type: "Point", coordinates: [1, 2] })).toBe(true);
    expect(pointIntersects([1, 2.0001], { type: "Point", coordinates: [1, 2] })).toBe(false);
    expect(pointIntersects([10, 5], poly(square(0, 0, 10, 10)))).toBe(true);
    expect(
      pointIntersects([3, 3], {
        type: "MultiPoint",
        coordinates: [
          [1, 1],
          [3, 3],
        ],
      }),
    ).toBe(true);
  });
});

describe("distanceToSegment and distanceToPolygon", () => {
  it("measures to the perpendicular foot inside the segment and to an endpoint beyond it", () => {
    expect(distanceToSegment([0, 1], [-1, 0], [1, 0])).toBeCloseTo(ONE_DEGREE_M, 4);
    expect(distanceToSegment([5, 0], [-1, 0], [1, 0])).toBeCloseTo(4 * ONE_DEGREE_M, 4);
    expect(distanceToSegment([0, 90], [-1, 0], [1, 0])).toBeCloseTo(90 * ONE_DEGREE_M, 4);
  });

  it("measures to the geodesic, not the parallel, for east-west edges", () => {
    // The geodesic from [0,60] to [40,60] peaks near 61.52°N, so [20,61.51] is about 1 km from it.
    expect(distanceToSegment([20, 61.51], [0, 60], [40, 60])).toBeLessThan(2000);
  });

  it("is 0 inside a polygon and the distance to the nearest edge outside", () => {
    const p = poly(square(0, 0, 10, 10));
    expect(distanceToPolygon([5, 5], p)).toBe(0);
    expect(distanceToPolygon([5, -1], p)).toBeCloseTo(ONE_DEGREE_M, 4);
  });
});

describe("bounds", () => {
  it("splits a circle across the antimeridian into two boxes", () => {
    const boxes = circleBounds([179.9, 0], 50_000);
    expect(boxes).toHaveLength(2);
    expect(inBoxes([-179.8, 0], boxes)).toBe(true);
    expect(inBoxes([179.6, 0], boxes)).toBe(true);
    expect(inBoxes([0, 0], boxes)).toBe(false);
  });

  it("covers every longitude when a circle reaches a pole", () => {
    const boxes = circleBounds([0, 89.9], 50_000);
    expect(boxes).toEqual([
      [
        [-180, expect.any(Number)],
        [180, 90],
      ],
    ]);
  });

  it("contains every point of random circles", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.double({ min: -89.5, max: 89.5, noNaN: true }),
        fc.double({ min: 1, max: 1_000_000, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (lng, lat, r, bearing, f) => {
          const p = destination([lng, lat], bearing, r * f);
          expect(inBoxes(p, circleBounds([lng, lat], r))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("contains every point of random polygons, near the poles and across the antimeridian too", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.double({ min: -88, max: 88, noNaN: true }),
        fc.double({ min: 0.01, max: 40, noNaN: true }),
        fc.array(fc.double({ min: 0.3, max: 1, noNaN: true }), { minLength: 3, maxLength: 40 }),
        fc.array(
          fc.tuple(
            fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
            fc.double({ min: 0, max: 1.2, noNaN: true }),
          ),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        (lng, lat, r, radii, samples) => {
          // A star around the centre with geodesic spokes: simple, possibly around a pole.
          const ring = radii.map((f, i) =>
            destination([lng, lat], (i / radii.length) * 2 * Math.PI, f * r * ONE_DEGREE_M),
          );
          ring.push(ring[0]!);
          const polygon = poly(ring);
          const boxes = geometryBounds(polygon);
          for (const [bearing, f] of samples) {
            const p = destination([lng, lat], bearing, f * r * ONE_DEGREE_M);
            if (pointInPolygon(p, polygon)) expect(inBoxes(p, boxes)).toBe(true);
          }
          for (const v of ring) expect(inBoxes(v, boxes)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("includes the poleward bulge of geodesic edges", () => {
    const b = arcBounds([0, 60], [40, 60]);
    expect(b.lat[1]).toBeGreaterThan(61.5);
    const boxes = geometryBounds(poly(square(0, 50, 40, 60)));
    expect(inBoxes([20, 61], boxes)).toBe(true);
  });

  it("bounds a polygon around the pole with every longitude", () => {
    const boxes = geometryBounds(
      poly([
        [0, 80],
        [90, 80],
        [180, 80],
        [-90, 80],
        [0, 80],
      ]),
    );
    expect(boxes).toHaveLength(1);
    expect(boxes[0]![1][1]).toBe(90);
    expect(boxes[0]![0][0]).toBe(-180);
  });

  it("bounds a polygon across the antimeridian with two boxes", () => {
    const boxes = geometryBounds(
      poly([
        [170, -10],
        [-170, -10],
        [-170, 10],
        [170, 10],
        [170, -10],
      ]),
    );
    expect(boxes).toHaveLength(2);
    expect(inBoxes([180, 0], boxes)).toBe(true);
    expect(inBoxes([0, 0], boxes)).toBe(false);
  });

  it("splits a wrapping box and grows boxes by a distance", () => {
    expect(
      boxBounds([
        [170, 0],
        [-170, 1],
      ]),
    ).toHaveLength(2);
    const grown = expandBox(
      [
        [0, 0],
        [1, 1],
      ],
      ONE_DEGREE_M,
    );
    expect(inBoxes([-0.99, -0.99], grown)).toBe(true);
    expect(inBoxes([-1.1, 0], grown)).toBe(false);
  });
});

describe("bounds at the antimeridian and the poles", () => {
  // Lng 180 and −180 are one meridian and every longitude at ±90° is one point, so a place may be
  // stored under either spelling: the bounds must contain every spelling of every point inside.

  it("wraps a circle's padding across the antimeridian when it touches 180", () => {
    const center: LngLat = [179.9999, 0];
    const radius = distanceMeters(center, [180, 0]);
    expect(pointInCircle([-180, 0], center, radius)).toBe(true);
    const boxes = circleBounds(center, radius);
    expect(inBoxes([180, 0], boxes)).toBe(true);
    expect(inBoxes([-180, 0], boxes)).toBe(true);
    expect(inBoxes([-179.99, 0], boxes)).toBe(false);
    const west = circleBounds([-179.9999, 0], radius);
    expect(inBoxes([180, 0], west)).toBe(true);
    expect(inBoxes([-180, 0], west)).toBe(true);
  });

  it("bounds a point at a pole with a cap over every longitude", () => {
    for (const lat of [90, -90]) {
      const point = { type: "Point" as const, coordinates: [30, lat] };
      expect(pointIntersects([-120, lat], point)).toBe(true);
      const boxes = geometryBounds(point);
      expect(inBoxes([-120, lat], boxes)).toBe(true);
      expect(inBoxes([180, lat], boxes)).toBe(true);
      expect(inBoxes([-180, lat], boxes)).toBe(true);
      expect(boxes).toEqual([
        lat > 0
          ? [
              [-180, 90 - BOUNDS_PAD_DEG],
              [180, 90],
            ]
          : [
              [-180, -90],
              [180, -90 + BOUNDS_PAD_DEG],
            ],
      ]);
    }
  });

  it("adds a polar cap for a line ending at a pole and keeps its own longitudes narrow", () => {
    const boxes = geometryBounds({
      type: "LineString",
      coordinates: [
        [30, 80],
        [30, 90],
      ],
    });
    expect(inBoxes([30, 85], boxes)).toBe(true);
    expect(inBoxes([-150, 90], boxes)).toBe(true);
    expect(inBoxes([-150, 89.9999999], boxes)).toBe(true);
    expect(inBoxes([-150, 85], boxes)).toBe(false);
    expect(inBoxes([31, 85], boxes)).toBe(false);
  });

  it("covers both spellings of a point on the antimeridian", () => {
    for (const lng of [180, -180]) {
      const boxes = geometryBounds({ type: "Point", coordinates: [lng, 10] });
      expect(boxes).toHaveLength(2);
      expect(inBoxes([180, 10], boxes)).toBe(true);
      expect(inBoxes([-180, 10], boxes)).toBe(true);
      expect(inBoxes([0, 10], boxes)).toBe(false);
    }
  });

  it("wraps a polygon edge on the antimeridian and a box grown across it", () => {
    const polygon = poly(square(170, -10, 180, 10));
    expect(pointInPolygon([-180, 0], polygon)).toBe(true);
    const boxes = geometryBounds(polygon);
    expect(inBoxes([-180, 0], boxes)).toBe(true);
    expect(inBoxes([-179.9, 0], boxes)).toBe(false);
    const grown = expandBox(
      [
        [170, 0],
        [180, 10],
      ],
      ONE_DEGREE_M,
    );
    expect(inBoxes([-179.5, 5], grown)).toBe(true);
    expect(inBoxes([-178.5, 5], grown)).toBe(false);
    for (const [[w], [e]] of grown) expect(w).toBeLessThanOrEqual(e);
  });

  it("contains every point of random circles near the antimeridian and the poles", () => {
    fc.assert(
      fc.property(
        seamPosition,
        fc.oneof(
          fc.record({
            kind: fc.constant("random" as const),
            r: fc.double({ min: 0, max: 300_000, noNaN: true }),
          }),
          fc.constantFrom({ kind: "meridian" as const }, { kind: "pole" as const }),
        ),
        fc.array(samplePair, { minLength: 1, maxLength: 20 }),
        (center, radiusSpec, samples) => {
          // Random radii, or radii that make the circle touch the antimeridian or a pole exactly.
          const radius =
            radiusSpec.kind === "random"
              ? radiusSpec.r
              : radiusSpec.kind === "meridian"
                ? distanceMeters(center, [180, center[1]])
                : distanceMeters(center, [0, center[1] >= 0 ? 90 : -90]);
          const boxes = circleBounds(center, radius);
          const candidates: LngLat[] = [
            center,
            [180, center[1]],
            [0, 90],
            [0, -90],
            ...samples.map(([bearing, f]) => destination(center, bearing, f * radius)),
            ...samples.map(([bearing]) => destination(center, bearing, radius)),
          ];
          expectCovered(boxes, (p) => pointInCircle(p, center, radius), candidates);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("contains every point of random polygons with vertices on the antimeridian or at a pole", () => {
    fc.assert(
      fc.property(
        fc.oneof(seamQuad, polarTriangle),
        fc.array(
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (ring, weights) => {
          const polygon = poly([...ring, ring[0]!]);
          const prepared = prepareGeometry(polygon);
          const boxes = geometryBounds(polygon);
          const vs = ring.map(toVec3);
          const candidates: LngLat[] = [
            ...ring,
            ...onEdges([...ring, ring[0]!]),
            // Points of the spherical hull of the vertices: inside a convex polygon.
            ...weights.map((w) =>
              toLngLat(
                normalize(vs.reduce<Vec3>((acc, v, i) => add(acc, scale(v, w[i] ?? 0)), [0, 0, 0])),
              ),
            ),
          ];
          expectCovered(
            boxes,
            (p) => pointInPolygon(p, polygon) || prepared.intersects(p),
            candidates,
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  it("contains every point of random lines and points near the antimeridian and the poles", () => {
    fc.assert(
      fc.property(fc.array(seamPosition, { minLength: 1, maxLength: 5 }), (positions) => {
        const geometries: IntersectsGeometry[] = [
          { type: "MultiPoint", coordinates: positions },
          ...positions.map((coordinates): IntersectsGeometry => ({ type: "Point", coordinates })),
        ];
        if (positions.length >= 2) geometries.push({ type: "LineString", coordinates: positions });
        const candidates = [...positions, ...onEdges(positions)];
        for (const geometry of geometries) {
          const prepared = prepareGeometry(geometry);
          expectCovered(
            geometryBounds(geometry),
            (p) => pointIntersects(p, geometry) || prepared.intersects(p),
            candidates,
          );
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("aggregateCellOf", () => {
  it("bins row-major from the south-west, the last row and column taking the north/east edges", () => {
    const box: Box = [
      [0, 0],
      [10, 10],
    ];
    expect(aggregateCellOf([0, 0], box, [10, 10])).toBe(0);
    expect(aggregateCellOf([10, 10], box, [10, 10])).toBe(99);
    expect(aggregateCellOf([5.5, 2.5], box, [10, 10])).toBe(25);
    expect(aggregateCellOf([11, 5], box, [10, 10])).toBeUndefined();
  });

  it("bins across the antimeridian by distance east of the west edge", () => {
    const box: Box = [
      [170, 0],
      [-170, 10],
    ];
    expect(aggregateCellOf([175, 5], box, [2, 1])).toBe(0);
    expect(aggregateCellOf([-175, 5], box, [2, 1])).toBe(1);
  });
});

/** The point `d` metres from `p` along initial bearing `theta` (radians). */
function destination(p: LngLat, theta: number, d: number): LngLat {
  const delta = d / EARTH_RADIUS_M;
  const phi1 = (p[1] * Math.PI) / 180;
  const lambda1 = (p[0] * Math.PI) / 180;
  const phi2 = Math.asin(
    Math.sin(phi1) * Math.cos(delta) + Math.cos(phi1) * Math.sin(delta) * Math.cos(theta),
  );
  const lambda2 =
    lambda1 +
    Math.atan2(
      Math.sin(theta) * Math.sin(delta) * Math.cos(phi1),
      Math.cos(delta) - Math.sin(phi1) * Math.sin(phi2),
    );
  let lng = (lambda2 * 180) / Math.PI;
  lng = ((((lng + 180) % 360) + 360) % 360) - 180;
  return [lng, Math.max(-90, Math.min(90, (phi2 * 180) / Math.PI))];
}

/** A longitude on or near the antimeridian, either spelling of it included. */
const seamLng = fc.oneof(
  fc.constantFrom(180, -180),
  fc.double({ min: 178, max: 180, noNaN: true }),
  fc.double({ min: -180, max: -178, noNaN: true }),
);
/** A latitude at or near a pole. */
const poleLat = fc.oneof(
  fc.constantFrom(90, -90),
  fc.double({ min: 88, max: 90, noNaN: true }),
  fc.double({ min: -90, max: -88, noNaN: true }),
);
/** A position on or near the antimeridian, a pole, or both. */
const seamPosition: fc.Arbitrary<LngLat> = fc.oneof(
  fc.tuple(seamLng, fc.double({ min: -89, max: 89, noNaN: true })),
  fc.tuple(fc.double({ min: -180, max: 180, noNaN: true }), poleLat),
  fc.tuple(seamLng, poleLat),
);
/** A bearing (radians) and a fraction of a radius. */
const samplePair = fc.tuple(
  fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
  fc.double({ min: 0, max: 1, noNaN: true }),
);
/** A convex quadrilateral with one side on the antimeridian (spelled 180 or −180). */
const seamQuad: fc.Arbitrary<LngLat[]> = fc
  .tuple(
    fc.constantFrom(180, -180),
    fc.double({ min: 1e-6, max: 10, noNaN: true }),
    fc.double({ min: -80, max: 70, noNaN: true }),
    fc.double({ min: 1e-6, max: 10, noNaN: true }),
  )
  .map(([seam, width, s, height]) => {
    const other = seam > 0 ? 180 - width : -180 + width;
    const n = s + height;
    return [
      [other, s],
      [seam, s],
      [seam, n],
      [other, n],
    ] satisfies LngLat[];
  });
/** A triangle with a vertex at a pole (under any longitude) and its other two on one parallel. */
const polarTriangle: fc.Arbitrary<LngLat[]> = fc
  .tuple(
    fc.constantFrom(90, -90),
    fc.double({ min: -180, max: 180, noNaN: true }),
    fc.double({ min: -180, max: 180, noNaN: true }),
    fc.double({ min: 1e-6, max: 170, noNaN: true }),
    fc.double({ min: 0.001, max: 60, noNaN: true }),
  )
  .map(([pole, poleLng, lng, width, colat]) => {
    const lat = pole - Math.sign(pole) * colat;
    const east = lng + width > 180 ? lng + width - 360 : lng + width;
    return [
      [lng, lat],
      [east, lat],
      [poleLng, pole],
    ];
  });

/** Points along every edge of a chain (great-circle interpolation between its vertices). */
function onEdges(chain: readonly LngLat[]): LngLat[] {
  const out: LngLat[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const a = toVec3(chain[i]!);
    const b = toVec3(chain[i + 1]!);
    if (norm(add(a, b)) < 1e-9) continue; // antipodal: no unique arc
    for (const t of [0.001, 0.25, 0.5, 0.75, 0.999])
      out.push(toLngLat(normalize(add(scale(a, 1 - t), scale(b, t)))));
  }
  return out;
}

/** The spellings of one point on the sphere: lng ±180 swapped, and a pole under other longitudes. */
function spellings(p: LngLat): LngLat[] {
  const out: LngLat[] = [p];
  if (Math.abs(p[0]) === 180) out.push([-p[0], p[1]]);
  if (Math.abs(p[1]) === 90)
    for (const lng of [-180, -120, -0.5, 0, 33.3, 179.99, 180]) out.push([lng, p[1]]);
  return out;
}

/** Every spelling of every candidate that the exact predicate accepts lies in one of the boxes. */
function expectCovered(boxes: Box[], inside: (p: LngLat) => boolean, candidates: LngLat[]): void {
  for (const [[w, s], [e, n]] of boxes) {
    expect(w).toBeLessThanOrEqual(e);
    expect(w).toBeGreaterThanOrEqual(-180);
    expect(e).toBeLessThanOrEqual(180);
    expect(s).toBeGreaterThanOrEqual(-90);
    expect(n).toBeLessThanOrEqual(90);
  }
  for (const candidate of candidates) {
    for (const p of spellings(candidate)) {
      if (inside(p))
        expect(inBoxes(p, boxes), `${JSON.stringify(p)} in ${JSON.stringify(boxes)}`).toBe(true);
    }
  }
}
