/**
 * DESIGN §4 cross-region correctness at the gateway: the HTTP app (real Fastify routing, parsing
 * and rendering via `inject`) over the shared Coordinator, whose leaves run on five embedded
 * stores. A seeded dataset — synthetic places, places within a few km of region borders, places
 * in the 50 km margin outside every polygon, and exact distance ties (same point; mirror points
 * on both sides of a border) — is queried thousands of times, most centres near a border, and
 * every answer is compared with a brute-force scan of all places as one global index: ids in
 * order, distances, coordinates, and the region each place is stored in.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Coordinator, executeLeaf } from "@geomesh/coordinator";
import { synthetic } from "@geomesh/datasets";
import {
  type IntersectsGeometry,
  type LngLat,
  type NearQuery,
  type Page,
  type Place,
  type PlaceHit,
  type PlaceInput,
  type ServiceRequest,
  defaultRegionMap,
  distanceMeters,
  matchesFilter,
  parseNearBody,
  parseSearchBody,
} from "@geomesh/geo";
import {
  type Feature,
  type FeatureCollection,
  bruteForceIntersects,
  bruteForceNear,
  bruteForceWithin,
  firstDifference as firstDifferenceFrom,
  offset,
  regionsWithin,
  round6,
  sampleOutlines as sampleRegionOutlines,
  seededRandom,
  starPolygon,
} from "@geomesh/geo/testing";
import type { GeoStore } from "@geomesh/store";
import { EmbeddedGeoStore } from "@geomesh/store-embedded";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "./app.js";

const map = defaultRegionMap();
const REGIONS = map.names();
const stores = new Map<string, GeoStore>();
let dir = "";
let app: FastifyInstance;

/** Every stored place (read back from the stores) and the region whose store holds it. */
const places: Place[] = [];
const storedIn = new Map<string, string>();
let loaded = 0;

/** Points on shared region borders (both sides of every shared edge, sampled every ≤ 10 km). */
let borderPoints: LngLat[] = [];
/** Vertices of region outlines facing no other region (coasts, Canada, Mexico). */
let outerPoints: LngLat[] = [];
/** Cross-region ties: places at (c − d, lat) and (c + d, lat) in different regions. */
const mirrors: { c: number; lat: number; d: number; ids: [string, string] }[] = [];
/** Groups of places at one identical position. */
const duplicates: { at: LngLat; ids: string[] }[] = [];

const CATEGORIES = ["cafe", "park", "shop", "bank", "school", "museum"];
const TAGS = ["wifi", "open-24h", "vegan", "parking"];
/** Distances travel as JSON numbers (exact); anything beyond float noise is a real difference. */
/** A query centre is "near a border" when two regions' polygons are within this distance. */
const BORDER_M = 25_000;

const rand = seededRandom(20_250_601);
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const between = (lo: number, hi: number) => lo + rand() * (hi - lo);
const logUniform = (lo: number, hi: number) => Math.exp(between(Math.log(lo), Math.log(hi)));
const dayIso = (day: number) => new Date(Date.UTC(2024, 0, 1) + day * 86_400_000).toISOString();

function sampleOutlines(): void {
  ({ border: borderPoints, outer: outerPoints } = sampleRegionOutlines(map));
}

/** Regions whose polygon lies within `BORDER_M` of the point. */
function regionsNear(p: LngLat): number {
  return regionsWithin(map, p, BORDER_M);
}

function placeInput(id: string, at: LngLat, label: string): PlaceInput {
  const category = pick(CATEGORIES);
  return {
    id,
    name: `${category} ${label}`,
    category,
    location: { type: "Point", coordinates: at },
    tags: TAGS.filter(() => rand() < 0.3),
    properties: { label },
    updatedAt: dayIso(Math.floor(rand() * 366)),
  };
}

/** The seeded dataset: synthetic places plus border, margin and tie places. */
function dataset(): { bulk: PlaceInput[]; ties: PlaceInput[] } {
  const bulk: PlaceInput[] = [...synthetic(3000, { seed: 2025 })].map((p) => ({
    ...p,
    updatedAt: dayIso(Math.floor(rand() * 366)),
  }));
  for (let i = 0; i < 1500; i++) {
    const meters = rand() < 0.7 ? between(0, 5000) : between(5000, 30_000);
    bulk.push(
      placeInput(`b:${i}`, offset(pick(borderPoints), meters, rand() * 2 * Math.PI), `b${i}`),
    );
  }
  // Outside every polygon but within 50 km: owned by the nearest region (some land > 50 km out and are refused).
  for (let i = 0; i < 300; i++)
    bulk.push(
      placeInput(
        `m:${i}`,
        offset(pick(outerPoints), between(5000, 49_000), rand() * 2 * Math.PI),
        `m${i}`,
      ),
    );

  const ties: PlaceInput[] = [];
  for (let g = 0; g < 40; g++) {
    const at = offset(pick(borderPoints), between(0, 3000), rand() * 2 * Math.PI);
    // Letters shuffled so id order is unrelated to write order.
    const ids = ["a", "b", "c", "d"]
      .slice(0, 2 + Math.floor(rand() * 3))
      .sort(() => rand() - 0.5)
      .map((s) => `d:${g}:${s}`);
    if (map.regionOf(at) === undefined) continue;
    duplicates.push({ at, ids: [...ids].sort() });
    for (const id of ids) ties.push(placeInput(id, at, id));
  }
  // Mirror points: dyadic longitudes, so c ± d are exact and every query on the meridian c sees
  // both at bit-identical distances (haversine is symmetric in Δlng).
  for (let tries = 0; mirrors.length < 60 && tries < 5000; tries++) {
    const b = pick(borderPoints);
    const c = Math.round(b[0] * 64) / 64;
    const lat = Math.round(b[1] * 64) / 64;
    const d = (1 + Math.floor(rand() * 12)) / 64;
    const west = map.regionOf([c - d, lat]);
    const east = map.regionOf([c + d, lat]);
    if (west === undefined || east === undefined || west === east) continue;
    if (mirrors.some((m) => m.c === c && m.lat === lat)) continue;
    const i = mirrors.length;
    // Sometimes the western place has the smaller id, sometimes the eastern one.
    const [w, e] = rand() < 0.5 ? ["a", "b"] : ["b", "a"];
    const ids: [string, string] = [`t:${i}:${w}`, `t:${i}:${e}`];
    mirrors.push({ c, lat, d, ids });
    ties.push(placeInput(ids[0], [c - d, lat], ids[0]), placeInput(ids[1], [c + d, lat], ids[1]));
  }
  return { bulk: bulk.filter((p) => map.regionOf(p.location.coordinates) !== undefined), ties };
}

async function allPlaces(store: GeoStore): Promise<Place[]> {
  const world = {
    shape: {
      kind: "box" as const,
      box: [
        [-180, -90],
        [180, 90],
      ] as [LngLat, LngLat],
    },
    limit: 1000,
  };
  const out: Place[] = [];
  for (;;) {
    const last = out[out.length - 1];
    const page = await store.within(last ? { ...world, cursor: { id: last.id } } : world);
    out.push(...page.hits.map((h) => h.place));
    if (!page.next) return out;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geomesh-gw-oracle-"));
  for (const name of REGIONS) {
    const store = new EmbeddedGeoStore({
      region: name,
      path: join(dir, `${name}.sqlite`),
      synchronous: "normal",
    });
    await store.init();
    stores.set(name, store);
  }
  const coordinator = new Coordinator(map, (region, request) =>
    executeLeaf(stores.get(region)!, region, map, request),
  );
  app = await buildApp({
    coordinator,
    cluster: {
      regionStatus: () => Promise.resolve({}),
      ready: () => Promise.resolve({ ready: true, detail: {} }),
    },
  });
  sampleOutlines();
  const { bulk, ties } = dataset();
  for (let i = 0; i < bulk.length; i += 1000)
    await coordinator.execute("place.upsert", { places: bulk.slice(i, i + 1000) });
  // The tie places go through the HTTP write path.
  for (const p of ties) {
    const res = await app.inject({ method: "PUT", url: `/v1/places/${p.id}`, payload: p });
    expect(res.statusCode, `PUT ${p.id}: ${res.body}`).toBe(200);
  }
  loaded = bulk.length + ties.length;
  for (const [region, store] of stores)
    for (const p of await allPlaces(store)) {
      places.push(p);
      storedIn.set(p.id, region);
    }
}, 120_000);

afterAll(async () => {
  await app?.close();
  for (const s of stores.values()) await s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Running one query over HTTP and comparing it with the oracle

type Request =
  | { method: "GET"; query: Record<string, string> }
  | { method: "POST"; body: Record<string, unknown> };

interface Stats {
  queries: number;
  requests: number;
  borderCentres: number;
  multiRegionAnswers: number;
  nonEmptyAnswers: number;
  mismatches: string[];
}

const newStats = (): Stats => ({
  queries: 0,
  requests: 0,
  borderCentres: 0,
  multiRegionAnswers: 0,
  nonEmptyAnswers: 0,
  mismatches: [],
});
const totals = new Map<string, Stats>();

function describeRequest(req: Request): string {
  return req.method === "GET"
    ? `GET /v1/places/near?${new URLSearchParams(req.query).toString()}`
    : `POST /v1/places/search ${JSON.stringify(req.body)}`;
}

/** The parsed query of a request, as the oracle takes it. */
function parsedOf(
  req: Request,
): Extract<ServiceRequest, { service: "geo.near" | "geo.within" | "geo.intersects" }> {
  if (req.method === "POST") return parseSearchBody(req.body);
  const q = req.query;
  const body: Record<string, unknown> = { point: [Number(q.lng), Number(q.lat)] };
  if (q.limit !== undefined) body.limit = Number(q.limit);
  if (q.maxDistance !== undefined) body.maxDistance = Number(q.maxDistance);
  if (q.minDistance !== undefined) body.minDistance = Number(q.minDistance);
  if (q.category !== undefined) body.filter = { category: q.category };
  return { service: "geo.near", query: parseNearBody(body) };
}

/**
 * Places within one of the caps (centre, radius in m). A cap of radius < 90° is geodesically
 * convex, so a polygon, line or point set whose positions all lie in a cap lies in it whole:
 * handing the oracle only these places (a superset of every possible hit) keeps it exact while
 * sparing it thousands of point-in-polygon tests per query.
 */
function inCaps(caps: readonly { c: LngLat; r: number }[]): Place[] {
  return places.filter((p) =>
    caps.some((k) => distanceMeters(k.c, p.location.coordinates) <= k.r + 10),
  );
}

function capOf(positions: readonly LngLat[]): { c: LngLat; r: number } {
  const c = positions[0]!;
  return { c, r: Math.max(...positions.map((q) => distanceMeters(c, q))) };
}

function capsOf(geometry: IntersectsGeometry): { c: LngLat; r: number }[] {
  switch (geometry.type) {
    case "Point":
      return [{ c: geometry.coordinates as LngLat, r: 0 }];
    case "MultiPoint":
      return geometry.coordinates.map((c) => ({ c: c as LngLat, r: 0 }));
    case "LineString":
      return [capOf(geometry.coordinates as LngLat[])];
    case "MultiLineString":
      return geometry.coordinates.map((line) => capOf(line as LngLat[]));
    case "Polygon":
      return [capOf(geometry.coordinates[0] as LngLat[])];
    case "MultiPolygon":
      return geometry.coordinates.map((polygon) => capOf(polygon[0] as LngLat[]));
  }
}

/** Places that pass a near query's range and filter and are no farther than its k-th such place (a superset of its top k). */
function nearCandidates(query: NearQuery, k: number): Place[] {
  const min = query.minDistance ?? 0;
  const max = query.maxDistance ?? Infinity;
  const pass: Place[] = [];
  const distances: number[] = [];
  for (const p of places) {
    const d = distanceMeters(query.point, p.location.coordinates);
    if (d >= min && d <= max && matchesFilter(p, query.filter)) {
      pass.push(p);
      distances.push(d);
    }
  }
  if (pass.length <= k) return pass;
  const kth = Float64Array.from(distances).sort()[k - 1]!;
  return pass.filter((_, i) => distances[i]! <= kth);
}

/** The global answer for `req` with `limit`, by brute force over every stored place. */
function oracle(r: ReturnType<typeof parsedOf>, limit: number): Page {
  switch (r.service) {
    case "geo.near":
      // One more than asked, so `next` is known.
      return bruteForceNear(nearCandidates(r.query, limit + 1), { ...r.query, limit });
    case "geo.within": {
      const shape = r.query.shape;
      const candidates =
        shape.kind === "circle"
          ? inCaps([{ c: shape.center, r: shape.radius }])
          : shape.kind === "polygon"
            ? inCaps(capsOf(shape.geometry))
            : places;
      return bruteForceWithin(candidates, { ...r.query, limit });
    }
    case "geo.intersects":
      return bruteForceIntersects(inCaps(capsOf(r.query.geometry)), { ...r.query, limit });
  }
}

async function send(req: Request, cursor: string | undefined) {
  return req.method === "GET"
    ? app.inject({
        method: "GET",
        url: "/v1/places/near",
        query: cursor ? { ...req.query, cursor } : req.query,
      })
    : app.inject({
        method: "POST",
        url: "/v1/places/search",
        payload: cursor ? { ...req.body, cursor } : req.body,
      });
}

/** Where `got` first differs from `want` (id, region, coordinates, distance), or undefined. */
function firstDifference(got: Feature[], want: PlaceHit[], near: boolean): string | undefined {
  return firstDifferenceFrom(got, want, near, (id) => storedIn.get(id));
}

/**
 * Sends `req`, following `next` cursors for up to `pages` pages, and compares the concatenated
 * features with the oracle's answer for `limit × pages`. Records mismatches in `stats`.
 */
async function check(
  kind: string,
  centre: LngLat,
  req: Request,
  options: { pages?: number } = {},
): Promise<void> {
  const stats = totals.get(kind) ?? newStats();
  totals.set(kind, stats);
  stats.queries++;
  if (regionsNear(centre) >= 2) stats.borderCentres++;
  const pages = options.pages ?? 1;
  const parsed = parsedOf(req);
  const limit = parsed.query.limit;
  const want = oracle(parsed, limit * pages);
  const got: Feature[] = [];
  let cursor: string | undefined;
  let lastNext: string | undefined;
  const label = describeRequest(req) + (pages > 1 ? ` following next for ${pages} pages` : "");
  for (let page = 0; page < pages + 2; page++) {
    const res = await send(req, cursor);
    stats.requests++;
    if (res.statusCode !== 200) {
      stats.mismatches.push(
        `${label}: page ${page} answered ${res.statusCode} ${res.body.slice(0, 300)}`,
      );
      return;
    }
    const fc = res.json<FeatureCollection>();
    if (fc.type !== "FeatureCollection" || !Array.isArray(fc.features)) {
      stats.mismatches.push(`${label}: page ${page} is not a FeatureCollection`);
      return;
    }
    got.push(...fc.features);
    lastNext = fc.next;
    cursor = fc.next;
    if (!cursor || got.length >= limit * pages) break;
  }
  const regions = new Set(want.hits.map((h) => storedIn.get(h.place.id)));
  if (want.hits.length > 0) stats.nonEmptyAnswers++;
  if (regions.size >= 2) stats.multiRegionAnswers++;
  const near = parsed.service === "geo.near";
  const diff = firstDifference(got, want.hits, near);
  if (diff) stats.mismatches.push(`${label}: ${diff}`);
  else if (want.next !== undefined && lastNext === undefined)
    stats.mismatches.push(`${label}: no next cursor although more results exist`);
}

function expectAgreement(kinds: readonly string[]): void {
  for (const kind of kinds) {
    const s = totals.get(kind)!;
    expect(
      s.mismatches.slice(0, 5),
      `${s.mismatches.length} of ${s.queries} ${kind} queries disagree with the global oracle`,
    ).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------
// Query generators

/** A query centre: 60 % on/near a shared border, 10 % at a tie, 30 % near any stored place. */
function centre(): LngLat {
  const r = rand();
  if (r < 0.6) return offset(pick(borderPoints), between(0, 15_000), rand() * 2 * Math.PI);
  if (r < 0.7) {
    const m = pick(mirrors);
    return [m.c, round6(m.lat + between(-0.05, 0.05))];
  }
  return offset(pick(places).location.coordinates, between(0, 30_000), rand() * 2 * Math.PI);
}

function limit(): number {
  const r = rand();
  if (r < 0.6) return 1 + Math.floor(rand() * 20);
  if (r < 0.9) return 21 + Math.floor(rand() * 180);
  return 201 + Math.floor(rand() * 800);
}

function filter(): Record<string, unknown> | undefined {
  if (rand() < 0.5) return undefined;
  const f: Record<string, unknown> = {};
  const clauses = 1 + Math.floor(rand() * 2);
  for (let k = 0; k < clauses; k++) {
    switch (Math.floor(rand() * 4)) {
      case 0:
        f.category = rand() < 0.5 ? pick(CATEGORIES) : [pick(CATEGORIES), pick(CATEGORIES)];
        break;
      case 1:
        f.tags = [pick(TAGS)];
        break;
      case 2:
        f.namePrefix =
          rand() < 0.5 ? pick(CATEGORIES) : `${pick(CATEGORIES)} ${Math.floor(rand() * 10)}`;
        break;
      default: {
        const from = Math.floor(rand() * 300);
        f.updatedAt =
          rand() < 0.3
            ? { from: dayIso(from) }
            : { from: dayIso(from), to: dayIso(from + 30 + Math.floor(rand() * 200)) };
      }
    }
  }
  return f;
}

/** A star-shaped polygon around `c` (radius in degrees of latitude), with a hole at its centre when asked. */
function star(c: LngLat, radiusDeg: number, hole: boolean): LngLat[][] {
  return starPolygon(rand, c, radiusDeg, hole);
}

/** 2–3 disjoint star polygons around border points (parts far enough apart never to overlap). */
function multiPolygon(): { coordinates: LngLat[][][]; at: LngLat } {
  const parts: { c: LngLat; r: number }[] = [];
  const first = centre();
  const want = 2 + Math.floor(rand() * 2);
  for (let tries = 0; parts.length < want && tries < 50; tries++) {
    const c =
      parts.length === 0 ? first : offset(first, between(50_000, 900_000), rand() * 2 * Math.PI);
    const r = logUniform(0.05, 1.5);
    if (parts.every((p) => distanceMeters(p.c, c) > (p.r + r) * 111_320 * 3.5))
      parts.push({ c, r });
  }
  return { coordinates: parts.map((p) => star(p.c, p.r, rand() < 0.3)), at: first };
}

/** Positions of a few stored places near `c` (so points and lines pass exactly through places). */
function placesNear(c: LngLat, n: number, withinM: number): LngLat[] {
  const near = places.filter((p) => distanceMeters(p.location.coordinates, c) <= withinM);
  const pool = near.length >= 2 * n ? near : places;
  const out = new Map<string, LngLat>();
  while (out.size < n) {
    const at = pick(pool).location.coordinates;
    out.set(at.join(","), at);
  }
  return [...out.values()];
}

// ---------------------------------------------------------------------------------------------

// Each test runs hundreds of queries; the shared machine may be slow.
describe(
  "gateway answers across five regions exactly as one global index",
  { timeout: 60_000 },
  () => {
    it("stores every loaded place once, in the region that owns its location", () => {
      expect(places).toHaveLength(loaded);
      expect(new Set(places.map((p) => p.id)).size).toBe(places.length);
      const wrong = places.filter(
        (p) => map.regionOf(p.location.coordinates) !== storedIn.get(p.id),
      );
      expect(wrong.map((p) => p.id)).toEqual([]);
      // The fixture really exercises the border cases it claims to.
      expect(REGIONS.every((r) => places.some((p) => storedIn.get(p.id) === r))).toBe(true);
      expect(places.filter((p) => p.id.startsWith("b:")).length).toBeGreaterThan(1400);
      expect(places.filter((p) => p.id.startsWith("m:")).length).toBeGreaterThan(100);
      expect(
        places.filter(
          (p) =>
            p.id.startsWith("m:") &&
            REGIONS.every((r) => map.distanceToRegion(p.location.coordinates, r) > 0),
        ).length,
      ).toBeGreaterThan(50);
      expect(mirrors.length).toBeGreaterThanOrEqual(40);
      expect(duplicates.length).toBeGreaterThanOrEqual(30);
    });

    it("answers GET /v1/places/near (limit, maxDistance, minDistance, category) like the oracle", async () => {
      for (let i = 0; i < 1100; i++) {
        const c = centre();
        const query: Record<string, string> = { lng: String(c[0]), lat: String(c[1]) };
        if (rand() < 0.9) query.limit = String(limit());
        const max = rand() < 0.4 ? Math.round(logUniform(1000, 1_000_000)) : undefined;
        if (max !== undefined) query.maxDistance = String(max);
        if (rand() < 0.15)
          query.minDistance = String(Math.round(between(0, Math.min(max ?? 80_000, 80_000))));
        if (rand() < 0.2) query.category = pick(CATEGORIES);
        await check("GET near", c, { method: "GET", query });
      }
      expectAgreement(["GET near"]);
    });

    it("pages GET /v1/places/near with next cursors: the pages concatenated equal the oracle's longer answer", async () => {
      for (let i = 0; i < 250; i++) {
        const c = centre();
        const query: Record<string, string> = {
          lng: String(c[0]),
          lat: String(c[1]),
          limit: String(rand() < 0.7 ? 1 + Math.floor(rand() * 15) : 50 + Math.floor(rand() * 200)),
        };
        if (rand() < 0.4) query.maxDistance = String(Math.round(logUniform(5000, 600_000)));
        if (rand() < 0.15) query.minDistance = String(Math.round(between(0, 3000)));
        if (rand() < 0.2) query.category = pick(CATEGORIES);
        await check(
          "GET near pages",
          c,
          { method: "GET", query },
          { pages: 2 + Math.floor(rand() * 5) },
        );
      }
      expectAgreement(["GET near pages"]);
    });

    it("answers POST /v1/places/search near with filters and cursors like the oracle", async () => {
      for (let i = 0; i < 350; i++) {
        const c = centre();
        const near: Record<string, unknown> = { point: c };
        if (rand() < 0.5) near.maxDistance = Math.round(logUniform(1000, 1_000_000));
        if (rand() < 0.2)
          near.minDistance = Math.round(
            between(0, Math.min(20_000, Number(near.maxDistance ?? 20_000))),
          );
        const body: Record<string, unknown> = { near, limit: limit() };
        const f = filter();
        if (f) body.filter = f;
        await check("POST near", c, { method: "POST", body }, { pages: rand() < 0.2 ? 3 : 1 });
      }
      expectAgreement(["POST near"]);
    });

    it("answers within circles and boxes spanning regions like the oracle", async () => {
      for (let i = 0; i < 600; i++) {
        const c = centre();
        const body: Record<string, unknown> =
          i % 2
            ? { within: { circle: { center: c, radius: Math.round(logUniform(2000, 600_000)) } } }
            : (() => {
                const w = logUniform(0.05, 6);
                const h = logUniform(0.05, 4);
                const west = round6(c[0] - w * rand());
                const south = round6(c[1] - h * rand());
                return {
                  within: {
                    box: [
                      [west, south],
                      [round6(west + w), round6(south + h)],
                    ],
                  },
                };
              })();
        body.limit = limit();
        const f = filter();
        if (f) body.filter = f;
        await check(
          i % 2 ? "within circle" : "within box",
          c,
          { method: "POST", body },
          { pages: rand() < 0.15 ? 3 : 1 },
        );
      }
      expectAgreement(["within circle", "within box"]);
    });

    it("answers within Polygons (with and without holes) and MultiPolygons spanning regions like the oracle", async () => {
      for (let i = 0; i < 550; i++) {
        let geometry: Record<string, unknown>;
        let c: LngLat;
        let kind: string;
        if (i % 3 === 2) {
          const m = multiPolygon();
          geometry = { type: "MultiPolygon", coordinates: m.coordinates };
          c = m.at;
          kind = "within MultiPolygon";
        } else {
          c = centre();
          const hole = i % 3 === 1;
          geometry = { type: "Polygon", coordinates: star(c, logUniform(0.05, 3), hole) };
          kind = hole ? "within Polygon with hole" : "within Polygon";
        }
        const body: Record<string, unknown> = { within: { geometry }, limit: limit() };
        const f = filter();
        if (f) body.filter = f;
        await check(kind, c, { method: "POST", body }, { pages: rand() < 0.15 ? 3 : 1 });
      }
      expectAgreement(["within Polygon", "within Polygon with hole", "within MultiPolygon"]);
    });

    it("answers intersects (points, lines through places, polygons) spanning regions like the oracle", async () => {
      for (let i = 0; i < 400; i++) {
        const c = centre();
        let geometry: Record<string, unknown>;
        switch (i % 6) {
          case 0:
            geometry = { type: "Point", coordinates: placesNear(c, 1, 30_000)[0]! };
            break;
          case 1:
            geometry = {
              type: "MultiPoint",
              coordinates: placesNear(c, 2 + Math.floor(rand() * 6), 60_000),
            };
            break;
          case 2:
            geometry = {
              type: "LineString",
              coordinates: placesNear(c, 2 + Math.floor(rand() * 4), 80_000).sort(
                (a, b) => a[0] - b[0] || a[1] - b[1],
              ),
            };
            break;
          case 3:
            geometry = {
              type: "MultiLineString",
              coordinates: [0, 1].map(() =>
                placesNear(c, 2 + Math.floor(rand() * 3), 80_000).sort(
                  (a, b) => a[0] - b[0] || a[1] - b[1],
                ),
              ),
            };
            break;
          case 4:
            geometry = { type: "Polygon", coordinates: star(c, logUniform(0.05, 2), rand() < 0.4) };
            break;
          default:
            geometry = { type: "MultiPolygon", coordinates: multiPolygon().coordinates };
        }
        const body: Record<string, unknown> = { intersects: { geometry }, limit: limit() };
        if (rand() < 0.3) body.filter = filter() ?? { category: pick(CATEGORIES) };
        await check(
          `intersects ${String(geometry.type)}`,
          c,
          { method: "POST", body },
          { pages: rand() < 0.1 ? 3 : 1 },
        );
      }
      expectAgreement([...totals.keys()].filter((k) => k.startsWith("intersects")));
    });

    it("breaks exact distance ties by id, across regions and across cursor pages", async () => {
      let crossRegionTies = 0;
      for (const m of mirrors) {
        const at: LngLat = [m.c, m.lat];
        // The pair really is a bit-exact tie between two regions at the query point.
        const pair = m.ids.map((id) => places.find((p) => p.id === id)!);
        if (
          pair.every((p) => p !== undefined) &&
          distanceMeters(at, pair[0]!.location.coordinates) ===
            distanceMeters(at, pair[1]!.location.coordinates) &&
          storedIn.get(m.ids[0]) !== storedIn.get(m.ids[1])
        )
          crossRegionTies++;
        for (const lat of [m.lat, round6(m.lat + between(-0.2, 0.2))]) {
          const point: LngLat = [m.c, lat];
          for (const k of [1, 2, 3])
            await check("ties", point, {
              method: "GET",
              query: { lng: String(m.c), lat: String(lat), limit: String(k) },
            });
          await check(
            "ties",
            point,
            { method: "GET", query: { lng: String(m.c), lat: String(lat), limit: "1" } },
            { pages: 4 },
          );
          await check(
            "ties",
            point,
            {
              method: "POST",
              body: {
                near: { point, maxDistance: Math.ceil(distanceMeters(point, [m.c + m.d, m.lat])) },
                limit: 1,
              },
            },
            { pages: 3 },
          );
          await check(
            "ties",
            point,
            {
              method: "POST",
              body: {
                within: {
                  circle: {
                    center: point,
                    radius: Math.ceil(distanceMeters(point, [m.c + m.d, m.lat])),
                  },
                },
                limit: 1,
              },
            },
            { pages: 3 },
          );
        }
      }
      for (const g of duplicates) {
        const query = { lng: String(g.at[0]), lat: String(g.at[1]) };
        await check(
          "ties",
          g.at,
          { method: "GET", query: { ...query, limit: "1" } },
          { pages: g.ids.length + 1 },
        );
        await check(
          "ties",
          g.at,
          { method: "GET", query: { ...query, limit: "2", maxDistance: "0" } },
          { pages: 3 },
        );
        await check(
          "ties",
          g.at,
          {
            method: "POST",
            body: { intersects: { geometry: { type: "Point", coordinates: g.at } }, limit: 1 },
          },
          { pages: g.ids.length },
        );
      }
      expect(crossRegionTies).toBeGreaterThanOrEqual(40);
      expectAgreement(["ties"]);
    });

    it("ran thousands of queries, most centred near a border and many answered by several regions", () => {
      const all = [...totals.values()];
      const sum = (f: (s: Stats) => number) => all.reduce((n, s) => n + f(s), 0);
      const queries = sum((s) => s.queries);
      console.log(
        [...totals]
          .map(
            ([k, s]) =>
              `${k}: ${s.queries} queries, ${s.requests} requests, ${s.borderCentres} border centres, ${s.nonEmptyAnswers} non-empty, ${s.multiRegionAnswers} multi-region`,
          )
          .join("\n"),
      );
      expect(queries).toBeGreaterThanOrEqual(3000);
      expect(sum((s) => s.borderCentres) / queries).toBeGreaterThanOrEqual(0.5);
      expect(sum((s) => s.multiRegionAnswers) / queries).toBeGreaterThanOrEqual(0.3);
      expect(sum((s) => s.nonEmptyAnswers) / queries).toBeGreaterThanOrEqual(0.8);
    });
  },
);
