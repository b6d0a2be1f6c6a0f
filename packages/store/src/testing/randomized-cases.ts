/**
 * Randomized cases: a seeded data set (clusters, uniform points, duplicates, poles, the
 * antimeridian) and fast-check-generated queries of every kind, each answer compared with the
 * brute-force oracle of `@geomesh/geo/testing`. Reproduce a failure with the seed printed by
 * fast-check (or `GEOMESH_CONFORMANCE_SEED`).
 */
import {
  type AggregateQuery,
  type Box,
  distanceMeters,
  type Filter,
  type IntersectsGeometry,
  type LngLat,
  type NearQuery,
  type Page,
  type Place,
  type PolygonGeometry,
  type Selection,
  type Shape,
  validateGeometry,
} from "@geomesh/geo";
import {
  bruteForceAggregate,
  bruteForceCount,
  bruteForceIntersects,
  bruteForceNear,
  bruteForceWithin,
  seededRandom,
} from "@geomesh/geo/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GeoStore } from "../geo-store.js";
import {
  allIdPages,
  allNearPages,
  type ConformanceOptions,
  expectDistanceClose,
  type StoreFactory,
} from "./conformance-context.js";

const CATEGORIES = ["cafe", "park", "museum", "shop"];
const TAGS = ["wifi", "outdoor", "free", "late"];
const NAMES = ["Alpha", "Alps", "Beta", "Bay", "Café", "cafe", "Delta"];
const TIMES = [
  "2023-05-01T00:00:00.000Z",
  "2024-01-01T00:00:00.000Z",
  "2024-06-15T12:30:00.000Z",
  "2025-02-01T00:00:00.000Z",
];
const CLUSTERS: [LngLat, number][] = [
  [[-74, 40.7], 0.3],
  [[2.35, 48.85], 1],
  [[179.6, -17.5], 0.8],
  [[20, 88.5], 1.2],
  [[-60, -89], 0.5],
];

function wrapLng(x: number): number {
  let v = ((((x + 180) % 360) + 360) % 360) - 180;
  if (v === -180 && x > 0) v = 180;
  return v;
}

function clampLat(y: number): number {
  return Math.max(-90, Math.min(90, y));
}

/** The randomized data set: ~320 places with ids unrelated to their position. */
export function randomDataset(seed: number): Place[] {
  const rnd = seededRandom(seed);
  const gauss = (): number =>
    Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const points: LngLat[] = [];
  for (let i = 0; i < 170; i++) {
    const [[x, y], s] = CLUSTERS[i % CLUSTERS.length]!;
    points.push([wrapLng(x + gauss() * s), clampLat(y + gauss() * s)]);
  }
  for (let i = 0; i < 110; i++)
    points.push([rnd() * 360 - 180, (Math.asin(2 * rnd() - 1) * 180) / Math.PI]);
  points.push([0, 90], [123, 90], [0, -90], [180, 0], [-180, 0], [180, 45.5], [-180, -45.5]);
  for (let i = 0; i < 30; i++)
    points.push([...points[Math.floor(rnd() * points.length)]!] as LngLat);
  const round = (v: number): number => Math.round(v * 1e7) / 1e7;
  return points.map(([lng, lat], i): Place => {
    const tags = TAGS.filter(() => rnd() < 0.35);
    return {
      id: `r${Math.floor(rnd() * 1e9).toString(36)}-${i}`,
      name: `${NAMES[Math.floor(rnd() * NAMES.length)]!} ${i}`,
      category: CATEGORIES[Math.floor(rnd() * CATEGORIES.length)]!,
      location: { type: "Point", coordinates: [round(lng), round(lat)] },
      tags,
      properties: { i },
      updatedAt: TIMES[Math.floor(rnd() * TIMES.length)]!,
    };
  });
}

const filterArb: fc.Arbitrary<Filter | undefined> = fc.option(
  fc
    .record(
      {
        category: fc.oneof(
          fc.constantFrom(...CATEGORIES),
          fc.subarray(CATEGORIES, { minLength: 1 }),
        ),
        tags: fc.subarray(TAGS, { minLength: 1, maxLength: 2 }),
        namePrefix: fc.constantFrom("A", "Al", "B", "Ca", "Caf", "Café", "c", "Delta 1"),
        updatedAt: fc.record(
          { from: fc.constantFrom(...TIMES), to: fc.constantFrom(...TIMES) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    )
    .map((f) => f as Filter),
  { freq: 2, nil: undefined },
);

function pointArb(places: readonly Place[]): fc.Arbitrary<LngLat> {
  const jitter = fc.double({ min: -1, max: 1, noNaN: true });
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...places), jitter, jitter)
        .map(([p, dx, dy]): LngLat => [
          wrapLng(p.location.coordinates[0] + dx),
          clampLat(p.location.coordinates[1] + dy),
        ]),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.double({ min: -180, max: 180, noNaN: true }),
          fc.double({ min: -1, max: 1, noNaN: true }),
        )
        .map(([x, u]): LngLat => [x, (Math.asin(u) * 180) / Math.PI]),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<LngLat>(
        [0, 90],
        [0, -90],
        [180, 0],
        [-180, 0],
        [179.9, -17.5],
        [-179.9, -17.5],
        [45, 89.9],
      ),
    },
  );
}

/** Star-shaped (hence simple) polygon around a centre; rejected later if MongoDB would refuse it. */
function polygonArb(places: readonly Place[]): fc.Arbitrary<PolygonGeometry> {
  return fc
    .tuple(
      pointArb(places),
      fc.double({ min: 0.05, max: 12, noNaN: true }),
      fc.array(
        fc.tuple(
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.double({ min: 0.4, max: 1, noNaN: true }),
        ),
        { minLength: 3, maxLength: 9 },
      ),
    )
    .map(([[cx, cy], radius, spokes]) => {
      const angles = spokes.map(([a, r], i) => ({
        theta: ((i + a * 0.8) / spokes.length) * 2 * Math.PI,
        r,
      }));
      const ring: LngLat[] = angles.map(({ theta, r }) => destination([cx, cy], radius * r, theta));
      ring.push([ring[0]![0], ring[0]![1]]);
      const polygon: PolygonGeometry = { type: "Polygon", coordinates: [ring] };
      return polygon;
    });
}

/** The point `degrees` of arc from `from` along `bearing` (radians), on the sphere. */
function destination([lng, lat]: LngLat, degrees: number, bearing: number): LngLat {
  const r = Math.PI / 180;
  const d = degrees * r;
  const p1 = lat * r;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(bearing));
  const l2 =
    lng * r +
    Math.atan2(
      Math.sin(bearing) * Math.sin(d) * Math.cos(p1),
      Math.cos(d) - Math.sin(p1) * Math.sin(p2),
    );
  return [Math.round(wrapLng(l2 / r) * 1e9) / 1e9, Math.round((p2 / r) * 1e9) / 1e9];
}

function validPolygon(geometry: IntersectsGeometry): boolean {
  try {
    validateGeometry(geometry);
    return true;
  } catch {
    return false;
  }
}

function validSelection(selection: Selection): boolean {
  switch (selection.kind) {
    case "near":
      return true;
    case "within":
      return selection.shape.kind !== "polygon" || validPolygon(selection.shape.geometry);
    case "intersects":
      return validPolygon(selection.geometry);
  }
}

const boxArb: fc.Arbitrary<Box> = fc
  .tuple(
    fc.double({ min: -180, max: 180, noNaN: true }),
    fc.double({ min: 0.01, max: 120, noNaN: true }),
    fc.double({ min: -90, max: 90, noNaN: true }),
    fc.double({ min: 0.01, max: 60, noNaN: true }),
    fc.boolean(),
  )
  .map(([w, width, s, height, toPole]): Box => {
    const e = wrapLng(w + width);
    const n = toPole ? 90 : Math.min(90, s + height);
    return [
      [w, toPole ? Math.min(s, 80) : s],
      [e, n],
    ];
  });

function shapeArb(places: readonly Place[]): fc.Arbitrary<Shape> {
  return fc.oneof(
    boxArb.map((box): Shape => ({ kind: "box", box })),
    fc
      .tuple(pointArb(places), fc.double({ min: 500, max: 3_000_000, noNaN: true }))
      .map(([center, radius]): Shape => ({ kind: "circle", center, radius })),
    polygonArb(places).map((geometry): Shape => ({ kind: "polygon", geometry })),
  );
}

function withFilter<T extends object>(
  query: T,
  filter: Filter | undefined,
): T & { filter?: Filter } {
  return filter === undefined ? query : { ...query, filter };
}

/**
 * Near pages agree with the oracle: same length and `next`, distances equal to float noise, and
 * the same ids — where two different places are closer in distance than the noise, either order.
 */
export function expectNearPageMatches(
  actual: Page,
  expected: Page,
  byId: ReadonlyMap<string, Place>,
  point: LngLat,
): void {
  expect(actual.hits.length, "hit count").toBe(expected.hits.length);
  expect(actual.next !== undefined, "next cursor presence").toBe(expected.next !== undefined);
  const ids = actual.hits.map((h) => h.place.id);
  expect(new Set(ids).size, "distinct ids").toBe(ids.length);
  actual.hits.forEach((hit, i) => {
    const want = expected.hits[i]!.distance!;
    expectDistanceClose(hit.distance, want, `distance #${i}`);
    const stored = byId.get(hit.place.id);
    expect(stored, `hit ${hit.place.id} exists`).toBeDefined();
    expectDistanceClose(
      distanceMeters(point, stored!.location.coordinates),
      want,
      `true distance of #${i}`,
    );
  });
  // Places at (numerically) equal distances may come in either order — the last bit of a distance
  // differs between implementations — except exact duplicates (same coordinates), which must be
  // ordered by id everywhere.
  const d = expected.hits.map((h) => h.distance!);
  const ties = d.some((v, i) => i > 0 && Math.abs(v - d[i - 1]!) <= 1e-6 + 1e-9 * v);
  if (!ties) expect(ids).toEqual(expected.hits.map((h) => h.place.id));
  for (let i = 1; i < actual.hits.length; i++) {
    const [a, b] = [actual.hits[i - 1]!.place, actual.hits[i]!.place];
    const same =
      a.location.coordinates[0] === b.location.coordinates[0] &&
      a.location.coordinates[1] === b.location.coordinates[1];
    if (same) expect(a.id < b.id, `duplicates ${a.id}, ${b.id} in id order`).toBe(true);
  }
}

function expectIdPageMatches(actual: Page, expected: Page): void {
  expect(actual.hits.map((h) => h.place.id)).toEqual(expected.hits.map((h) => h.place.id));
  expect(actual.next !== undefined, "next cursor presence").toBe(expected.next !== undefined);
  actual.hits.forEach((h, i) => expect(h.place).toEqual(expected.hits[i]!.place));
}

/** Registers the randomized cases (one shared data set per run of the group). */
export function randomizedCases(factory: StoreFactory, options: ConformanceOptions): void {
  const envSeed = Number(process.env.GEOMESH_CONFORMANCE_SEED);
  const seed = Number.isInteger(envSeed) ? envSeed : (options.seed ?? 20240601);
  const envRuns = Number(process.env.GEOMESH_CONFORMANCE_RUNS);
  const numRuns = Number.isInteger(envRuns) && envRuns > 0 ? envRuns : (options.randomRuns ?? 25);
  const places = randomDataset(seed);
  const byId = new Map(places.map((p) => [p.id, p]));
  const params = { seed, numRuns, endOnFailure: true };
  let store: GeoStore | undefined;
  const s = (): GeoStore => {
    if (store === undefined) throw new Error("randomized store not set up");
    return store;
  };

  describe(`randomized against the brute-force oracle (seed ${seed}, ${numRuns} runs per kind)`, () => {
    beforeAll(async () => {
      store = await factory();
      await store.init();
      for (let i = 0; i < places.length; i += 100) await store.upsert(places.slice(i, i + 100));
    }, options.timeoutMs ?? 60_000);

    afterAll(async () => {
      if (store === undefined) return;
      await store.close();
      await options.dispose?.(store);
    });

    it("near matches the oracle, paged or not", async () => {
      const arb = fc.record(
        {
          point: pointArb(places),
          limit: fc.integer({ min: 1, max: 25 }),
          minDistance: fc.double({ min: 0, max: 2_000_000, noNaN: true }),
          maxDistance: fc.double({ min: 1_000, max: 5_000_000, noNaN: true }),
        },
        { requiredKeys: ["point", "limit"] },
      );
      await fc.assert(
        fc.asyncProperty(arb, filterArb, async (q, filter) => {
          const query = withFilter(q as NearQuery, filter);
          expectNearPageMatches(
            await s().near(query),
            bruteForceNear(places, query),
            byId,
            query.point,
          );
          const paged = await allNearPages(s(), { ...query, limit: 7 });
          const whole = bruteForceNear(places, { ...query, limit: 10_000 });
          expectNearPageMatches({ hits: paged.hits }, { hits: whole.hits }, byId, query.point);
        }),
        params,
      );
    });

    it("within matches the oracle for boxes, circles and polygons, paged or not", async () => {
      await fc.assert(
        fc.asyncProperty(
          shapeArb(places),
          fc.integer({ min: 1, max: 30 }),
          filterArb,
          async (shape, limit, filter) => {
            fc.pre(shape.kind !== "polygon" || validPolygon(shape.geometry));
            const query = withFilter({ shape, limit }, filter);
            expectIdPageMatches(await s().within(query), bruteForceWithin(places, query));
            const paged = await allIdPages((q) => s().within(q), { ...query, limit: 9 });
            expectIdPageMatches(
              { hits: paged.hits },
              bruteForceWithin(places, { ...query, limit: 10_000 }),
            );
          },
        ),
        params,
      );
    });

    it("intersects matches the oracle for polygons and points", async () => {
      const geometryArb: fc.Arbitrary<IntersectsGeometry> = fc.oneof(
        polygonArb(places),
        fc
          .constantFrom(...places)
          .map((p): IntersectsGeometry => ({ type: "Point", coordinates: p.location.coordinates })),
        fc.subarray(places, { minLength: 1, maxLength: 4 }).map((ps): IntersectsGeometry => ({
          type: "MultiPoint",
          coordinates: ps.map((p) => p.location.coordinates),
        })),
      );
      await fc.assert(
        fc.asyncProperty(
          geometryArb,
          fc.integer({ min: 1, max: 30 }),
          filterArb,
          async (geometry, limit, filter) => {
            fc.pre(validPolygon(geometry));
            const query = withFilter({ geometry, limit }, filter);
            expectIdPageMatches(await s().intersects(query), bruteForceIntersects(places, query));
          },
        ),
        params,
      );
    });

    it("count matches the oracle for every selection kind", async () => {
      const selectionArb: fc.Arbitrary<Selection> = fc.oneof(
        fc
          .tuple(
            pointArb(places),
            fc.double({ min: 0, max: 1_000_000, noNaN: true }),
            fc.double({ min: 1_000, max: 4_000_000, noNaN: true }),
          )
          .map(([point, minDistance, maxDistance]): Selection => ({
            kind: "near",
            point,
            minDistance,
            maxDistance,
          })),
        shapeArb(places).map((shape): Selection => ({ kind: "within", shape })),
        polygonArb(places).map((geometry): Selection => ({ kind: "intersects", geometry })),
      );
      await fc.assert(
        fc.asyncProperty(selectionArb, filterArb, async (selection, filter) => {
          fc.pre(validSelection(selection));
          const query = withFilter({ selection }, filter);
          expect(await s().count(query)).toBe(bruteForceCount(places, query));
        }),
        params,
      );
    });

    it("aggregate grids match the oracle cell for cell", async () => {
      const arb = fc.tuple(
        boxArb,
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        filterArb,
      );
      await fc.assert(
        fc.asyncProperty(arb, async ([box, cols, rows, filter]) => {
          const query: AggregateQuery = withFilter(
            { box, cells: [cols, rows] as [number, number] },
            filter,
          );
          expect(await s().aggregate(query)).toEqual(bruteForceAggregate(places, query));
        }),
        params,
      );
    });
  });
}
