import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GeomeshError } from "@geomesh/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LngLat, Shape } from "./model.js";
import { buildRegionMap, defaultRegionMap, REGION_MARGIN_M, type RegionMap } from "./region-map.js";
import {
  distanceMeters,
  distanceToPolygon,
  EARTH_RADIUS_M,
  pointInPolygon,
  pointInShape,
} from "./spherical.js";
import { seededRandom } from "./testing.js";
import { US_STATES } from "./us-states.js";

const map = defaultRegionMap();

/** The ownership rule by exhaustive scan of the plain polygons. */
function bruteRegionOf(m: RegionMap, p: LngLat): string | undefined {
  const regions = m.regions();
  for (const r of regions) if (pointInPolygon(p, r.geometry)) return r.name;
  let best: string | undefined;
  let bestD = Infinity;
  for (const r of regions) {
    const d = distanceToPolygon(p, r.geometry);
    if (d <= REGION_MARGIN_M && d < bestD) {
      bestD = d;
      best = r.name;
    }
  }
  return best;
}

function destination(p: LngLat, bearing: number, meters: number): LngLat {
  const delta = meters / EARTH_RADIUS_M;
  const phi1 = (p[1] * Math.PI) / 180;
  const phi2 = Math.asin(
    Math.sin(phi1) * Math.cos(delta) + Math.cos(phi1) * Math.sin(delta) * Math.cos(bearing),
  );
  const dl = Math.atan2(
    Math.sin(bearing) * Math.sin(delta) * Math.cos(phi1),
    Math.cos(delta) - Math.sin(phi1) * Math.sin(phi2),
  );
  const lng = ((((p[0] + (dl * 180) / Math.PI + 180) % 360) + 360) % 360) - 180;
  return [lng, (phi2 * 180) / Math.PI];
}

describe("default region map", () => {
  it("builds the five regions of DESIGN §1 from us-atlas, with every state and territory present", () => {
    expect(map.names()).toEqual(["NE", "South", "MW", "SW", "CA"]);
    expect(Object.keys(US_STATES)).toHaveLength(56);
    for (const r of map.regions()) expect(r.geometry.type).toBe("MultiPolygon");
  });

  it.each([
    ["New York", [-74.006, 40.7128], "NE"],
    ["Chicago", [-87.6298, 41.8781], "MW"],
    ["Houston", [-95.3698, 29.7604], "SW"],
    ["Miami", [-80.1918, 25.7617], "South"],
    ["Seattle", [-122.3321, 47.6062], "CA"],
    ["Anchorage", [-149.9003, 61.2181], "CA"],
    ["Honolulu", [-157.8583, 21.3069], "CA"],
    ["San Juan", [-66.1057, 18.4655], "South"],
    ["Charlotte Amalie", [-64.9307, 18.3419], "South"],
    ["Hagåtña, Guam", [144.7504, 13.4745], "CA"],
    ["Pago Pago", [-170.7025, -14.2756], "CA"],
    ["Attu, west of the antimeridian", [173.18, 52.85], "CA"],
    ["Denver", [-104.9903, 39.7392], "SW"],
    ["Washington DC", [-77.0369, 38.9072], "South"],
  ] as const)("puts %s in %s", (_name, point, region) => {
    expect(map.regionOf([point[0], point[1]])).toBe(region);
  });

  it("gives a point 30 km off the Maine coast to NE (the 50 km rule)", () => {
    const offshore: LngLat = [-68.2, 43.95];
    const d = map.distanceToRegion(offshore, "NE");
    expect(d).toBeGreaterThan(20_000);
    expect(d).toBeLessThan(REGION_MARGIN_M);
    expect(map.regionOf(offshore)).toBe("NE");
  });

  it("gives nothing to a point in the mid-Atlantic", () => {
    expect(map.regionOf([-40, 35])).toBeUndefined();
    expect(() => map.requireRegionOf([-40, 35])).toThrow(GeomeshError);
  });

  it("reports distance 0 inside a region and REGION_NOT_FOUND for unknown names", () => {
    expect(map.distanceToRegion([-74, 40.7], "NE")).toBe(0);
    expect(map.distanceToRegion([-74, 40.7], "South")).toBeGreaterThan(100_000);
    expect(() => map.distanceToRegion([0, 0], "Mars")).toThrow(
      expect.objectContaining({ code: "REGION_NOT_FOUND" }),
    );
  });

  it("agrees with a brute-force polygon scan on random points, including coasts and borders", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(
            fc.double({ min: -126, max: -65, noNaN: true }),
            fc.double({ min: 23, max: 50, noNaN: true }),
          ),
          fc.tuple(
            fc.double({ min: -180, max: -129, noNaN: true }),
            fc.double({ min: 50, max: 72, noNaN: true }),
          ),
          fc.tuple(
            fc.double({ min: -161, max: -154, noNaN: true }),
            fc.double({ min: 18, max: 23, noNaN: true }),
          ),
          fc.tuple(
            fc.double({ min: -68, max: -64, noNaN: true }),
            fc.double({ min: 17, max: 19, noNaN: true }),
          ),
        ),
        ([lng, lat]) => {
          expect(map.regionOf([lng, lat])).toBe(bruteRegionOf(map, [lng, lat]));
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  it("keeps regionOf to a few edge tests per lookup (grid + cap-tree index, no timing)", () => {
    const fresh = buildRegionMap(
      [...map.regions()].map((r) => ({ name: r.name, polygon: { geometry: r.geometry } })),
    );
    const rnd = seededRandom(7);
    const before = fresh.stats();
    const n = 20_000;
    for (let i = 0; i < n; i++) fresh.regionOf([-125 + rnd() * 60, 24 + rnd() * 26]);
    const after = fresh.stats();
    expect(after.lookups - before.lookups).toBe(n);
    // A scan would test every edge of every region (~10 000) per lookup.
    expect(after.totalEdges).toBeGreaterThan(5_000);
    expect((after.edgeTests - before.edgeTests) / n).toBeLessThan(60);
    expect(after.cellsIndexed).toBeLessThan(30_000);
  });
});

describe("query routing", () => {
  it("asks only the regions a circle (plus 50 km) reaches", () => {
    expect(map.regionsForCircle([-74, 40.7], 100_000)).toEqual(["NE"]);
    expect(map.regionsForCircle([-74, 40.7], 120_000)).toEqual(["NE", "South"]);
    expect(map.regionsForCircle([-40, 35], 1_000_000)).toEqual([]);
  });

  it("asks the regions a box touches, including across the antimeridian", () => {
    expect(
      map.regionsForShape({
        kind: "box",
        box: [
          [-74.5, 40.5],
          [-73.5, 41],
        ],
      }),
    ).toEqual(["NE"]);
    // Its south-west corner is within 50 km of Delaware.
    expect(
      map.regionsForShape({
        kind: "box",
        box: [
          [-75, 40],
          [-73, 41],
        ],
      }),
    ).toEqual(["NE", "South"]);
    expect(
      map.regionsForShape({
        kind: "box",
        box: [
          [170, 50],
          [-170, 55],
        ],
      }),
    ).toEqual(["CA"]);
    expect(
      map.regionsForShape({
        kind: "box",
        box: [
          [-30, 0],
          [-20, 10],
        ],
      }),
    ).toEqual([]);
  });

  it("asks the regions an intersects geometry reaches", () => {
    expect(map.regionsForShape({ type: "Point", coordinates: [-87.6, 41.9] })).toEqual(["MW"]);
    expect(
      map.regionsForShape({
        type: "LineString",
        coordinates: [
          [-74, 40.7],
          [-87.6, 41.9],
        ],
      }),
    ).toEqual(["NE", "MW"]);
  });

  it("never misses a region that owns a point inside the query shape", () => {
    const shape = fc.oneof(
      fc
        .tuple(
          fc.double({ min: -125, max: -67, noNaN: true }),
          fc.double({ min: 25, max: 49, noNaN: true }),
          fc.double({ min: 1_000, max: 300_000, noNaN: true }),
        )
        .map(([lng, lat, radius]): Shape => ({ kind: "circle", center: [lng, lat], radius })),
      fc
        .tuple(
          fc.double({ min: -125, max: -67, noNaN: true }),
          fc.double({ min: 25, max: 49, noNaN: true }),
          fc.double({ min: 0.01, max: 4, noNaN: true }),
          fc.double({ min: 0.01, max: 3, noNaN: true }),
        )
        .map(([w, s, dw, dh]): Shape => ({
          kind: "box",
          box: [
            [w, s],
            [w + dw, s + dh],
          ],
        })),
      fc
        .tuple(
          fc.double({ min: -125, max: -67, noNaN: true }),
          fc.double({ min: 25, max: 49, noNaN: true }),
          fc.double({ min: 0.05, max: 3, noNaN: true }),
        )
        .map(([lng, lat, r]): Shape => ({
          kind: "polygon",
          geometry: {
            type: "Polygon",
            coordinates: [
              [
                [lng - r, lat - r],
                [lng + r, lat - r / 2],
                [lng + r / 2, lat + r],
                [lng - r, lat + r / 3],
                [lng - r, lat - r],
              ],
            ],
          },
        })),
    );
    fc.assert(
      fc.property(shape, fc.integer({ min: 1, max: 1_000_000 }), (s, seed) => {
        const asked = new Set(map.regionsForShape(s));
        const rnd = seededRandom(seed);
        for (let i = 0; i < 60; i++) {
          const p = samplePoint(s, rnd);
          if (!pointInShape(p, s)) continue;
          const owner = map.regionOf(p);
          if (owner !== undefined) expect(asked).toContain(owner);
        }
      }),
      { numRuns: 150 },
    );
  });
});

function samplePoint(shape: Shape, rnd: () => number): LngLat {
  switch (shape.kind) {
    case "circle":
      return destination(shape.center, rnd() * 2 * Math.PI, Math.sqrt(rnd()) * shape.radius);
    case "box": {
      const [[w, s], [e, n]] = shape.box;
      return [w + rnd() * (e - w), s + rnd() * (n - s)];
    }
    case "polygon": {
      const ring = (shape.geometry.coordinates[0] ?? []) as LngLat[];
      const lngs = ring.map((p) => p[0]);
      const lats = ring.map((p) => p[1]);
      const w = Math.min(...lngs);
      const s = Math.min(...lats);
      return [w + rnd() * (Math.max(...lngs) - w), s + rnd() * (Math.max(...lats) - s)];
    }
  }
}

describe("region sources", () => {
  const square = {
    type: "Polygon" as const,
    coordinates: [
      [
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 10],
        [0, 0],
      ],
    ],
  };

  it("accepts inline geometry and GeoJSON files (Feature, FeatureCollection)", () => {
    const dir = mkdtempSync(join(tmpdir(), "geomesh-geo-"));
    writeFileSync(
      join(dir, "east.json"),
      JSON.stringify({
        type: "FeatureCollection",
        features: [
          {
            type: "Feature",
            properties: {},
            geometry: {
              ...square,
              coordinates: [square.coordinates[0]!.map(([x, y]) => [x! + 20, y!])],
            },
          },
        ],
      }),
    );
    const m = buildRegionMap(
      [
        { name: "west", polygon: { geometry: square } },
        { name: "east", polygon: { file: "east.json" } },
      ],
      { baseDir: dir },
    );
    expect(m.regionOf([5, 5])).toBe("west");
    expect(m.regionOf([25, 5])).toBe("east");
    expect(m.regionOf([10.2, 5])).toBe("west");
    expect(m.regionOf([15, 5])).toBeUndefined();
    // A shared border goes to the first region in configuration order.
    const twins = buildRegionMap([
      { name: "a", polygon: { geometry: square } },
      {
        name: "b",
        polygon: {
          geometry: {
            ...square,
            coordinates: [square.coordinates[0]!.map(([x, y]) => [x! + 10, y!])],
          },
        },
      },
    ]);
    expect(twins.regionOf([10, 5])).toBe("a");
    expect(twins.regionOf([10.000001, 5])).toBe("b");
  });

  it("reports bad sources as CONFIG_INVALID naming the field", () => {
    expect(() => buildRegionMap([{ name: "x", polygon: { states: ["ZZ"] } }])).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: 'regions[0].polygon.states[0]: unknown state or territory code "ZZ"',
      }),
    );
    expect(() =>
      buildRegionMap([{ name: "x", polygon: { file: "/nonexistent/regions.json" } }]),
    ).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    expect(() =>
      buildRegionMap([
        {
          name: "x",
          polygon: {
            geometry: {
              type: "Polygon",
              coordinates: [
                [
                  [0, 0],
                  [1, 0],
                  [1, 1],
                  [0, 1],
                ],
              ],
            },
          },
        },
      ]),
    ).toThrow(
      expect.objectContaining({
        message: "regions[0].polygon.geometry.coordinates[0]: ring is not closed",
      }),
    );
    expect(() =>
      buildRegionMap([
        { name: "x", polygon: { geometry: square } },
        { name: "X", polygon: { geometry: square } },
      ]),
    ).toThrow(expect.objectContaining({ message: 'regions[1].name: duplicate region name "X"' }));
  });

  it("measures distances consistently with distanceMeters", () => {
    const m = buildRegionMap([{ name: "sq", polygon: { geometry: square } }]);
    expect(m.distanceToRegion([5, -1], "sq")).toBeCloseTo(distanceMeters([5, -1], [5, 0]), 3);
  });
});
