import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeIdCursor, decodeNearCursor, encodeNearCursor } from "./cursor.js";
import {
  kthDistance,
  mergeCounts,
  mergeGridCounts,
  mergeIdPages,
  mergeNearPages,
  planNear,
} from "./merge.js";
import type {
  Filter,
  IntersectsGeometry,
  NearQuery,
  Page,
  Place,
  Shape,
  WithinQuery,
} from "./model.js";
import { defaultRegionMap } from "./region-map.js";
import {
  bruteForceAggregate,
  bruteForceCount,
  bruteForceIntersects,
  bruteForceNear,
  bruteForceWithin,
  samplePlaces,
} from "./testing.js";

const map = defaultRegionMap();

/** Places owned by some region (a store can only hold those), grouped by owner; includes exact duplicates of location. */
function fixture(seed: number): { all: Place[]; byRegion: Map<string, Place[]> } {
  const raw = samplePlaces(400, seed, [
    [-128, 22],
    [-62, 50],
  ]);
  const twins = raw.slice(0, 20).map((p, i) => ({ ...p, id: `twin${String(i).padStart(2, "0")}` }));
  // Places in the 50 km band outside every polygon, where ownership goes to the nearest region.
  const offshore = samplePlaces(20_000, seed + 100, [
    [-128, 22],
    [-62, 50],
  ])
    .filter((p) => {
      const owner = map.regionOf(p.location.coordinates);
      return owner !== undefined && map.distanceToRegion(p.location.coordinates, owner) > 0;
    })
    .slice(0, 150)
    .map((p) => ({ ...p, id: `off${p.id}` }));
  const byRegion = new Map<string, Place[]>();
  const all: Place[] = [];
  for (const place of [...raw, ...twins, ...offshore]) {
    const owner = map.regionOf(place.location.coordinates);
    if (owner === undefined) continue;
    all.push(place);
    byRegion.set(owner, [...(byRegion.get(owner) ?? []), place]);
  }
  return { all, byRegion };
}

const fixtures = [fixture(1), fixture(2), fixture(3)];

/** What a coordinator does: ask the planned regions, merge, ask the further ones, merge again. */
function coordinateNear(byRegion: Map<string, Place[]>, q: NearQuery): Page {
  const plan = planNear(q, map);
  const pages = new Map<string, Page>();
  const ask = (region: string): void => {
    pages.set(region, bruteForceNear(byRegion.get(region) ?? [], q));
  };
  plan.first.forEach(ask);
  const firstRound = mergeNearPages([...pages.values()], q.limit);
  plan
    .further(
      kthDistance(firstRound, q.limit),
      pages.keys(),
      firstRound.hits.length === q.limit && firstRound.next === undefined,
    )
    .forEach(ask);
  return mergeNearPages([...pages.values()], q.limit);
}

const filterArb: fc.Arbitrary<Filter | undefined> = fc.option(
  fc.constantFrom<Filter>(
    { category: "cafe" },
    { category: "park" },
    { tags: ["wifi"] },
    { category: ["cafe", "shop"], updatedAt: { from: "2024-03-01T00:00:00.000Z" } },
  ),
  { nil: undefined },
);

const nearArb = fc
  .record({
    fixture: fc.integer({ min: 0, max: fixtures.length - 1 }),
    lng: fc.double({ min: -130, max: -60, noNaN: true }),
    lat: fc.double({ min: 20, max: 52, noNaN: true }),
    limit: fc.integer({ min: 1, max: 15 }),
    maxDistance: fc.option(fc.double({ min: 1_000, max: 1_000_000, noNaN: true }), {
      nil: undefined,
    }),
    minDistance: fc.option(fc.double({ min: 0, max: 300_000, noNaN: true }), { nil: undefined }),
    filter: filterArb,
  })
  .map(({ fixture: f, lng, lat, limit, maxDistance, minDistance, filter }) => {
    const q: NearQuery = { point: [lng, lat], limit };
    if (maxDistance !== undefined) q.maxDistance = maxDistance;
    if (minDistance !== undefined && (maxDistance === undefined || minDistance <= maxDistance))
      q.minDistance = minDistance;
    if (filter !== undefined) q.filter = filter;
    return { f, q };
  });

describe("mergeNearPages", () => {
  it("merges by (distance, id), keeps limit and points the cursor at the last kept hit", () => {
    const hit = (id: string, distance: number) => ({
      place: { ...samplePlaces(1)[0]!, id },
      distance,
    });
    const merged = mergeNearPages(
      [{ hits: [hit("b", 1), hit("d", 5)] }, { hits: [hit("a", 1), hit("c", 3)] }],
      3,
    );
    expect(merged.hits.map((h) => h.place.id)).toEqual(["a", "b", "c"]);
    expect(merged.next).toBe(encodeNearCursor({ distance: 3, id: "c" }));
    expect(mergeNearPages([{ hits: [hit("a", 1)] }], 3)).toEqual({ hits: [hit("a", 1)] });
    expect(mergeNearPages([{ hits: [hit("a", 1)], next: "x" }], 3).next).toBe(
      encodeNearCursor({ distance: 1, id: "a" }),
    );
  });

  it("gives a coordinator the same page as one global index", () => {
    fc.assert(
      fc.property(nearArb, ({ f, q }) => {
        const { all, byRegion } = fixtures[f]!;
        expect(coordinateNear(byRegion, q)).toEqual(bruteForceNear(all, q));
      }),
      { numRuns: 300 },
    );
  });

  it("gives a full page its next when only a region not yet asked holds more (a sparse filter)", () => {
    // Found by the property below: the nearest region has exactly one park, farther ones more.
    const { all, byRegion } = fixtures[2]!;
    const q: NearQuery = {
      point: [-60, 44.661753253264834],
      limit: 1,
      filter: { category: "park" },
    };
    let query = q;
    let pages = 0;
    for (; pages < 50; pages++) {
      const page = coordinateNear(byRegion, query);
      expect(page, `page ${pages + 1}`).toEqual(bruteForceNear(all, query));
      if (page.next === undefined) break;
      query = { ...q, cursor: decodeNearCursor(page.next) };
    }
    expect(pages).toBeGreaterThan(1);
  });

  it("pages across regions with cursors exactly as one global index", () => {
    fc.assert(
      fc.property(nearArb, ({ f, q }) => {
        const { all, byRegion } = fixtures[f]!;
        const everything = bruteForceNear(all, { ...q, limit: 1_000_000 }).hits;
        const seen: string[] = [];
        let query = q;
        for (let round = 0; round <= all.length; round++) {
          const page = coordinateNear(byRegion, query);
          expect(page).toEqual(bruteForceNear(all, query));
          seen.push(...page.hits.map((h) => h.place.id));
          if (page.next === undefined) break;
          query = { ...q, cursor: decodeNearCursor(page.next) };
        }
        expect(seen).toEqual(everything.map((h) => h.place.id));
      }),
      { numRuns: 60 },
    );
  });
});

describe("planNear", () => {
  it("asks the owning region first and skips regions beyond maxDistance + 50 km", () => {
    // New York is ~157 km from the South region: its places are ≥ 107 km away.
    const plan = planNear({ point: [-74, 40.7], limit: 10, maxDistance: 120_000 }, map);
    expect(plan.first).toEqual(["NE"]);
    expect(plan.candidates.map((c) => c.region)).toEqual(["NE", "South"]);
    expect(plan.further(1_000, ["NE"])).toEqual([]);
    expect(plan.further(undefined, ["NE"])).toEqual(["South"]);
    expect(
      planNear({ point: [-74, 40.7], limit: 10, maxDistance: 100_000 }, map).candidates.map(
        (c) => c.region,
      ),
    ).toEqual(["NE"]);
  });

  it("starts from the nearest region for a point outside them all", () => {
    expect(planNear({ point: [-40, 35], limit: 1 }, map).first).toEqual(["NE"]);
  });
});

const offshoreCenters = fixtures[0]!.all
  .filter((p) => p.id.startsWith("off"))
  .map((p) => p.location.coordinates);

const polygonAround = (lng: number, lat: number, r: number): Shape => ({
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
});

const shapeArb: fc.Arbitrary<Shape> = fc.oneof(
  // Small shapes around places in the offshore 50 km band: only the 50 km rule routes them.
  fc
    .tuple(
      fc.constantFrom(...offshoreCenters),
      fc.double({ min: 0.005, max: 0.2, noNaN: true }),
      fc.boolean(),
    )
    .map(([[lng, lat], r, round]): Shape =>
      round
        ? { kind: "circle", center: [lng, lat], radius: r * 100_000 }
        : polygonAround(lng, lat, r),
    ),
  fc
    .tuple(
      fc.double({ min: -125, max: -67, noNaN: true }),
      fc.double({ min: 25, max: 49, noNaN: true }),
      fc.double({ min: 10_000, max: 1_000_000, noNaN: true }),
    )
    .map(([lng, lat, radius]): Shape => ({ kind: "circle", center: [lng, lat], radius })),
  fc
    .tuple(
      fc.double({ min: -125, max: -67, noNaN: true }),
      fc.double({ min: 25, max: 49, noNaN: true }),
      fc.double({ min: 0.1, max: 15, noNaN: true }),
      fc.double({ min: 0.1, max: 10, noNaN: true }),
    )
    .map(([w, s, dw, dh]): Shape => ({
      kind: "box",
      box: [
        [w, s],
        [w + dw, Math.min(90, s + dh)],
      ],
    })),
  fc
    .tuple(
      fc.double({ min: -125, max: -67, noNaN: true }),
      fc.double({ min: 25, max: 49, noNaN: true }),
      fc.double({ min: 0.2, max: 8, noNaN: true }),
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

describe("mergeIdPages", () => {
  it("merges within pages from the regions a shape needs into the global answer, page after page", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fixtures.length - 1 }),
        shapeArb,
        fc.integer({ min: 1, max: 25 }),
        filterArb,
        (f, shape, limit, filter) => {
          const { all, byRegion } = fixtures[f]!;
          const regions = map.regionsForShape(shape);
          const base: WithinQuery =
            filter === undefined ? { shape, limit } : { shape, limit, filter };
          const seen: string[] = [];
          let q = base;
          for (let round = 0; round <= all.length; round++) {
            const page = mergeIdPages(
              regions.map((r) => bruteForceWithin(byRegion.get(r) ?? [], q)),
              limit,
            );
            expect(page).toEqual(bruteForceWithin(all, q));
            seen.push(...page.hits.map((h) => h.place.id));
            if (page.next === undefined) break;
            q = { ...base, cursor: decodeIdCursor(page.next) };
          }
          expect(seen).toEqual(
            bruteForceWithin(all, { ...base, limit: 1_000_000 }).hits.map((h) => h.place.id),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("merges intersects pages from the regions a geometry needs into the global answer", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fixtures.length - 1 }),
        shapeArb,
        fc.integer({ min: 1, max: 25 }),
        (f, shape, limit) => {
          if (shape.kind !== "polygon") return;
          const { all, byRegion } = fixtures[f]!;
          // Include the exact locations of a few places so point geometries hit something.
          const geometry: IntersectsGeometry =
            limit % 2 === 0
              ? shape.geometry
              : {
                  type: "MultiPoint",
                  coordinates: all.slice(0, limit).map((p) => p.location.coordinates),
                };
          const regions = map.regionsForShape(geometry);
          const q = { geometry, limit };
          expect(
            mergeIdPages(
              regions.map((r) => bruteForceIntersects(byRegion.get(r) ?? [], q)),
              limit,
            ),
          ).toEqual(bruteForceIntersects(all, q));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("count and aggregate merging", () => {
  it("sums per-region counts and grids into the global ones", () => {
    const { all, byRegion } = fixtures[0]!;
    const countQuery = {
      selection: {
        kind: "near" as const,
        point: [-90, 38] as [number, number],
        maxDistance: 900_000,
      },
    };
    const regions = map.regionsForSelection(countQuery.selection);
    expect(
      mergeCounts(regions.map((r) => bruteForceCount(byRegion.get(r) ?? [], countQuery))),
    ).toBe(bruteForceCount(all, countQuery));
    const agg = {
      box: [
        [-110, 30],
        [-80, 45],
      ] as [[number, number], [number, number]],
      cells: [6, 3] as [number, number],
    };
    const boxRegions = map.regionsForShape({ kind: "box", box: agg.box });
    expect(
      mergeGridCounts(boxRegions.map((r) => bruteForceAggregate(byRegion.get(r) ?? [], agg))),
    ).toEqual(bruteForceAggregate(all, agg));
  });
});
