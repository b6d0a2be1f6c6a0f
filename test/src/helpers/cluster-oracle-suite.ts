/**
 * The cluster oracle suite, run by `gateway-cluster-oracle-process.test.ts` on embedded stores and
 * by `gateway-cluster-oracle-mongo.integration.test.ts` on MongoDB.
 *
 * DESIGN §4 cross-region correctness through the real cluster: five `geomesh broker` processes,
 * a `geomesh worker` per region on embedded stores, and a `geomesh gateway` on a loopback port.
 * Data comes from `geomesh load synthetic:N:seed` plus border and tie places written with
 * `PUT /v1/places/{id}`; a few hundred seeded, border-heavy queries over HTTP are compared with a
 * brute-force scan of the same places as one global index. Then one broker is killed with -9:
 * its region is still answered correctly through the others (DESIGN §10) and `/readyz` names it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { synthetic } from "@geomesh/datasets";
import {
  type LngLat,
  type Page,
  type Place,
  type PlaceInput,
  defaultRegionMap,
  distanceMeters,
  parseNearBody,
  parseSearchBody,
} from "@geomesh/geo";
import {
  bruteForceIntersects,
  bruteForceNear,
  bruteForceWithin,
  seededRandom,
} from "@geomesh/geo/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FeatureCollection,
  type Feature,
  firstDifference,
  offset,
  regionsWithin,
  round6,
  sampleOutlines,
  starPolygon,
} from "@geomesh/geo/testing";
import { GEOMESH_BIN, GeomeshProcess, freePort, writeClusterConfig } from "./processes.js";

const run = promisify(execFile);
const HB = { intervalMs: 500, liveness: 3 };
const N = 4000;
const SEED = 77;
const map = defaultRegionMap();
const REGIONS = map.names();
const CATEGORIES = ["cafe", "park", "shop", "bank", "school"];
const TAGS = ["wifi", "parking", "vegan"];
const procs = new Map<string, GeomeshProcess>();
let dir = "";
let base = "";
const places: Place[] = [];
const ownerOf = new Map<string, string>();
const { border, outer } = sampleOutlines(map);
const mirrors: { c: number; lat: number; d: number }[] = [];
const duplicates: LngLat[] = [];
const rand = seededRandom(4242);
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const between = (lo: number, hi: number) => lo + rand() * (hi - lo);
const logUniform = (lo: number, hi: number) => Math.exp(between(Math.log(lo), Math.log(hi)));

function placeInput(id: string, at: LngLat): PlaceInput {
  const category = pick(CATEGORIES);
  return {
    id,
    name: `${category} ${id}`,
    category,
    location: { type: "Point", coordinates: at },
    tags: TAGS.filter(() => rand() < 0.3),
    properties: {},
  };
}

/** Border places (most within 5 km of a shared border), 50 km-margin places, and exact ties. */
function extraPlaces(): PlaceInput[] {
  const out: PlaceInput[] = [];
  for (let i = 0; i < 300; i++) {
    const meters = rand() < 0.7 ? between(0, 5000) : between(5000, 30_000);
    out.push(placeInput(`b:${i}`, offset(pick(border), meters, rand() * 2 * Math.PI)));
  }
  for (let i = 0; i < 40; i++)
    out.push(
      placeInput(`m:${i}`, offset(pick(outer), between(5000, 45_000), rand() * 2 * Math.PI)),
    );
  for (let g = 0; g < 10; g++) {
    const at = offset(pick(border), between(0, 3000), rand() * 2 * Math.PI);
    duplicates.push(at);
    for (const s of ["c", "a", "b"]) out.push(placeInput(`d:${g}:${s}`, at));
  }
  // Mirror pairs on both sides of a border at dyadic longitudes: bit-identical distances from
  // any point on the meridian c, so only the id decides their order.
  for (let tries = 0; mirrors.length < 15 && tries < 5000; tries++) {
    const b = pick(border);
    const c = Math.round(b[0] * 64) / 64;
    const lat = Math.round(b[1] * 64) / 64;
    const d = (1 + Math.floor(rand() * 10)) / 64;
    const west = map.regionOf([c - d, lat]);
    const east = map.regionOf([c + d, lat]);
    if (west === undefined || east === undefined || west === east) continue;
    const i = mirrors.length;
    mirrors.push({ c, lat, d });
    const [w, e] = rand() < 0.5 ? ["a", "b"] : ["b", "a"];
    out.push(placeInput(`t:${i}:${w}`, [c - d, lat]), placeInput(`t:${i}:${e}`, [c + d, lat]));
  }
  return out.filter((p) => map.regionOf(p.location.coordinates) !== undefined);
}

async function http(
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, text: await res.text() };
}

interface Readiness {
  status: string;
  reachable: string[];
  unreachable: string[];
}

/** Polls `/readyz` until `accept` holds (or throws with the last body). */
async function waitForReadiness(
  accept: (r: Readiness) => boolean,
  timeoutMs: number,
): Promise<{ status: number; body: Readiness }> {
  const until = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const res = await http("GET", "/readyz");
    last = `${res.status} ${res.text}`;
    const body = JSON.parse(res.text) as Readiness;
    if (accept(body)) return { status: res.status, body };
    if (Date.now() > until)
      throw new Error(`/readyz never reached the expected state; last: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

// ---------------------------------------------------------------------------------------------

type Request =
  | { method: "GET"; query: Record<string, string> }
  | { method: "POST"; body: Record<string, unknown> };

interface Case {
  readonly kind: string;
  readonly centre: LngLat;
  readonly req: Request;
  readonly pages: number;
}

const label = (c: Case) =>
  (c.req.method === "GET"
    ? `GET /v1/places/near?${new URLSearchParams(c.req.query).toString()}`
    : `POST /v1/places/search ${JSON.stringify(c.req.body)}`) +
  (c.pages > 1 ? ` following next for ${c.pages} pages` : "");

function parsedOf(req: Request) {
  if (req.method === "POST") return parseSearchBody(req.body);
  const q = req.query;
  const body: Record<string, unknown> = { point: [Number(q.lng), Number(q.lat)] };
  if (q.limit !== undefined) body.limit = Number(q.limit);
  if (q.maxDistance !== undefined) body.maxDistance = Number(q.maxDistance);
  if (q.minDistance !== undefined) body.minDistance = Number(q.minDistance);
  if (q.category !== undefined) body.filter = { category: q.category };
  return { service: "geo.near" as const, query: parseNearBody(body) };
}

/** The global index's answer, over every place except those of the `missing` region. */
function oracle(parsed: ReturnType<typeof parsedOf>, limit: number, missing?: string): Page {
  const data = missing ? places.filter((p) => ownerOf.get(p.id) !== missing) : places;
  switch (parsed.service) {
    case "geo.near":
      return bruteForceNear(data, { ...parsed.query, limit });
    case "geo.within":
      return bruteForceWithin(data, { ...parsed.query, limit });
    case "geo.intersects":
      return bruteForceIntersects(data, { ...parsed.query, limit });
  }
}

interface Outcome {
  mismatch?: string;
  regions: Set<string>;
  ms: number;
  /** Regions a page reported as unavailable (`partial: true`). */
  unavailable: Set<string>;
}

/**
 * Runs one case over HTTP (following `next` for `pages` pages) and compares it with the oracle;
 * with `missing`, the oracle leaves out that region's places and pages may say they are partial.
 */
async function runCase(c: Case, missing?: string): Promise<Outcome> {
  const parsed = parsedOf(c.req);
  const limit = parsed.query.limit;
  const want = oracle(parsed, limit * c.pages, missing);
  const unavailable = new Set<string>();
  const regions = new Set(want.hits.map((h) => ownerOf.get(h.place.id)!));
  const started = Date.now();
  const got: Feature[] = [];
  let cursor: string | undefined;
  let lastNext: string | undefined;
  for (let page = 0; page < c.pages + 2; page++) {
    const res =
      c.req.method === "GET"
        ? await http(
            "GET",
            `/v1/places/near?${new URLSearchParams(cursor ? { ...c.req.query, cursor } : c.req.query).toString()}`,
          )
        : await http("POST", "/v1/places/search", cursor ? { ...c.req.body, cursor } : c.req.body);
    if (res.status !== 200)
      return {
        mismatch: `${label(c)}: page ${page} answered ${res.status} ${res.text.slice(0, 300)}`,
        regions,
        ms: Date.now() - started,
        unavailable,
      };
    const fc = JSON.parse(res.text) as FeatureCollection & {
      partial?: boolean;
      unavailable?: string[];
    };
    if ((fc.partial === true) !== (fc.unavailable !== undefined))
      return { mismatch: `${label(c)}: partial without unavailable`, regions, ms: 0, unavailable };
    for (const r of fc.unavailable ?? []) unavailable.add(r);
    got.push(...fc.features);
    lastNext = fc.next;
    cursor = fc.next;
    if (!cursor || got.length >= limit * c.pages) break;
  }
  const ms = Date.now() - started;
  const diff = firstDifference(got, want.hits, parsed.service === "geo.near", (id) =>
    ownerOf.get(id),
  );
  if (diff) return { mismatch: `${label(c)}: ${diff}`, regions, ms, unavailable };
  if (want.next !== undefined && lastNext === undefined)
    return {
      mismatch: `${label(c)}: no next cursor although more results exist`,
      regions,
      ms,
      unavailable,
    };
  if ([...unavailable].some((r) => r !== missing))
    return {
      mismatch: `${label(c)}: reported ${[...unavailable].join(", ")} unavailable`,
      regions,
      ms,
      unavailable,
    };
  return { regions, ms, unavailable };
}

function centre(): LngLat {
  const r = rand();
  if (r < 0.65) return offset(pick(border), between(0, 15_000), rand() * 2 * Math.PI);
  return offset(pick(places).location.coordinates, between(0, 30_000), rand() * 2 * Math.PI);
}

function limit(): number {
  const r = rand();
  return r < 0.6
    ? 1 + Math.floor(rand() * 20)
    : r < 0.9
      ? 21 + Math.floor(rand() * 180)
      : 201 + Math.floor(rand() * 800);
}

function filter(): Record<string, unknown> | undefined {
  const r = rand();
  if (r < 0.5) return undefined;
  if (r < 0.7) return { category: [pick(CATEGORIES), pick(CATEGORIES)] };
  if (r < 0.85) return { tags: [pick(TAGS)] };
  return { namePrefix: pick(CATEGORIES) };
}

function nearGet(c: LngLat, pages: number): Case {
  const query: Record<string, string> = { lng: String(c[0]), lat: String(c[1]) };
  if (rand() < 0.9) query.limit = String(pages > 1 ? 1 + Math.floor(rand() * 30) : limit());
  const max = rand() < 0.4 ? Math.round(logUniform(1000, 1_000_000)) : undefined;
  if (max !== undefined) query.maxDistance = String(max);
  if (rand() < 0.15)
    query.minDistance = String(Math.round(between(0, Math.min(max ?? 50_000, 50_000))));
  if (rand() < 0.2) query.category = pick(CATEGORIES);
  return {
    kind: pages > 1 ? "GET near pages" : "GET near",
    centre: c,
    req: { method: "GET", query },
    pages,
  };
}

function searchCase(kind: string, c: LngLat, selection: Record<string, unknown>): Case {
  const body: Record<string, unknown> = { ...selection, limit: limit() };
  const f = filter();
  if (f) body.filter = f;
  return { kind, centre: c, req: { method: "POST", body }, pages: rand() < 0.15 ? 3 : 1 };
}

function cases(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 130; i++) out.push(nearGet(centre(), 1));
  for (let i = 0; i < 25; i++) out.push(nearGet(centre(), 2 + Math.floor(rand() * 3)));
  for (let i = 0; i < 40; i++) {
    const c = centre();
    const near: Record<string, unknown> = { point: c };
    if (rand() < 0.5) near.maxDistance = Math.round(logUniform(1000, 1_000_000));
    out.push(searchCase("POST near", c, { near }));
  }
  for (let i = 0; i < 30; i++) {
    const c = centre();
    out.push(
      searchCase("within circle", c, {
        within: { circle: { center: c, radius: Math.round(logUniform(2000, 600_000)) } },
      }),
    );
  }
  for (let i = 0; i < 20; i++) {
    const c = centre();
    const w = logUniform(0.05, 6);
    const h = logUniform(0.05, 4);
    const west = round6(c[0] - w * rand());
    const south = round6(c[1] - h * rand());
    out.push(
      searchCase("within box", c, {
        within: {
          box: [
            [west, south],
            [round6(west + w), round6(south + h)],
          ],
        },
      }),
    );
  }
  for (let i = 0; i < 35; i++) {
    const c = centre();
    const hole = i % 2 === 1;
    out.push(
      searchCase(hole ? "within Polygon with hole" : "within Polygon", c, {
        within: {
          geometry: {
            type: "Polygon",
            coordinates: starPolygon(rand, c, logUniform(0.05, 3), hole),
          },
        },
      }),
    );
  }
  for (let i = 0; i < 15; i++) {
    // Two parts far enough apart never to overlap, the second often across another border.
    const a = centre();
    const b = offset(a, between(400_000, 900_000), rand() * 2 * Math.PI);
    out.push(
      searchCase("within MultiPolygon", a, {
        within: {
          geometry: {
            type: "MultiPolygon",
            coordinates: [
              starPolygon(rand, a, logUniform(0.05, 1), rand() < 0.4),
              starPolygon(rand, b, logUniform(0.05, 1), false),
            ],
          },
        },
      }),
    );
  }
  for (let i = 0; i < 20; i++) {
    const c = centre();
    const nearby = places
      .filter((p) => distanceMeters(p.location.coordinates, c) <= 60_000)
      .map((p) => p.location.coordinates);
    const pts = nearby.length >= 4 ? nearby : places.map((p) => p.location.coordinates);
    const few = [...new Map([0, 1, 2, 3].map(() => pick(pts)).map((p) => [p.join(), p])).values()];
    const geometry =
      i % 4 === 0
        ? { type: "Point", coordinates: few[0] }
        : i % 4 === 1
          ? { type: "MultiPoint", coordinates: few }
          : i % 4 === 2 && few.length >= 2
            ? { type: "LineString", coordinates: few.sort((p, q) => p[0] - q[0] || p[1] - q[1]) }
            : {
                type: "Polygon",
                coordinates: starPolygon(rand, c, logUniform(0.05, 2), rand() < 0.4),
              };
    out.push(searchCase(`intersects ${geometry.type}`, c, { intersects: { geometry } }));
  }
  for (const m of mirrors) {
    const q = { lng: String(m.c), lat: String(m.lat) };
    out.push({
      kind: "ties",
      centre: [m.c, m.lat],
      req: { method: "GET", query: { ...q, limit: "1" } },
      pages: 3,
    });
    out.push({
      kind: "ties",
      centre: [m.c, m.lat],
      req: {
        method: "POST",
        body: {
          within: {
            circle: {
              center: [m.c, m.lat],
              radius: Math.ceil(distanceMeters([m.c, m.lat], [m.c + m.d, m.lat])),
            },
          },
          limit: 1,
        },
      },
      pages: 3,
    });
  }
  for (const at of duplicates)
    out.push({
      kind: "ties",
      centre: at,
      req: { method: "GET", query: { lng: String(at[0]), lat: String(at[1]), limit: "2" } },
      pages: 3,
    });
  return out;
}

export interface ClusterOracleOptions {
  /** Store URI per region, read when the suite starts (default: the embedded stores under a temp dir). */
  readonly stores?: () => (region: string) => string;
  /**
   * The deployment shape: each worker holds only its own region's store (`--store`), so a region
   * whose broker is down cannot be served by anyone — reads then answer from the other regions
   * with `partial: true, unavailable: [...]`. Default: workers open every region's store.
   */
  readonly singleStore?: boolean;
}

/** Registers the suite: five brokers, a worker per region, a gateway, data, and the oracle checks. */
export function clusterOracleSuite(title: string, options: ClusterOracleOptions = {}): void {
  describe(title, () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "geomesh-gw-cluster-"));
      const { path: config, input } = await writeClusterConfig(dir, {
        heartbeat: HB,
        gatewayPort: await freePort(),
        edit: (i) => {
          if (!options.stores) return i;
          const storeOf = options.stores();
          return { ...i, regions: i.regions.map((r) => ({ ...r, store: storeOf(r.name) })) };
        },
      });
      base = `http://127.0.0.1:${input.gateway!.port}`;
      for (const region of REGIONS)
        procs.set(
          `broker-${region}`,
          new GeomeshProcess(["--config", config, "broker", "--region", region]),
        );
      await Promise.all(
        REGIONS.map((r) => procs.get(`broker-${r}`)!.waitForLog(/^broker started$/, 60_000)),
      );
      for (const region of REGIONS)
        procs.set(
          `worker-${region}`,
          new GeomeshProcess([
            "--config",
            config,
            "worker",
            "--region",
            region,
            "--concurrency",
            "4",
            ...(options.singleStore
              ? ["--store", input.regions.find((r) => r.name === region)!.store]
              : []),
          ]),
        );
      procs.set("gateway", new GeomeshProcess(["--config", config, "gateway"]));
      await Promise.all(
        REGIONS.map((r) => procs.get(`worker-${r}`)!.waitForLog(/^worker registered$/, 90_000)),
      );
      await procs.get("gateway")!.waitForLog(/^gateway listening$/, 60_000);
      await waitForReadiness((r) => r.unreachable.length === 0, 30_000);

      const { stdout } = await run(
        process.execPath,
        [GEOMESH_BIN, "--config", config, "load", `synthetic:${N}:${SEED}`, "--no-progress"],
        { timeout: 120_000 },
      );
      const loaded = [...synthetic(N, { seed: SEED })].filter(
        (p) => map.regionOf(p.location.coordinates) !== undefined,
      );
      expect(stdout).toContain(
        `read ${N.toLocaleString("en-US")} rows: ${loaded.length.toLocaleString("en-US")} accepted`,
      );
      const extra = extraPlaces();
      await pool(extra, 8, async (p) => {
        const res = await http("PUT", `/v1/places/${p.id}`, p);
        expect(res.status, `PUT ${p.id}: ${res.text}`).toBe(200);
        expect(JSON.parse(res.text)).toMatchObject({
          region: map.regionOf(p.location.coordinates),
        });
      });
      // The oracle's copy: the same rows (updatedAt is the workers' clock, so no query filters on it).
      for (const p of [...loaded, ...extra]) {
        places.push({ ...p, updatedAt: "2026-01-01T00:00:00.000Z" });
        ownerOf.set(p.id, map.regionOf(p.location.coordinates)!);
      }
    }, 300_000);

    afterAll(async () => {
      await Promise.all([...procs.values()].map((p) => p.destroy()));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("answers hundreds of border-heavy queries exactly as one global index", async () => {
      const all = cases();
      const outcomes: Outcome[] = [];
      const started = Date.now();
      await pool(all, 4, async (c) => {
        outcomes.push(await runCase(c));
      });
      const byKind = new Map<string, number>();
      for (const c of all) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
      console.log(
        `${all.length} queries in ${Date.now() - started} ms: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}`,
      );
      const mismatches = outcomes.flatMap((o) => (o.mismatch ? [o.mismatch] : []));
      expect(
        mismatches.slice(0, 5),
        `${mismatches.length} of ${all.length} queries disagree`,
      ).toEqual([]);
      // The workload really is cross-region and border-heavy.
      expect(all.length).toBeGreaterThanOrEqual(300);
      expect(
        all.filter((c) => regionsWithin(map, c.centre, 25_000) >= 2).length / all.length,
      ).toBeGreaterThanOrEqual(0.5);
      expect(
        outcomes.filter((o) => o.regions.size >= 2).length / all.length,
      ).toBeGreaterThanOrEqual(0.3);
    }, 180_000);

    const deadTitle = options.singleStore
      ? "answers around a SIGKILLed broker's region from the others, marked partial, and /readyz names it"
      : "keeps answering a SIGKILLed broker's region correctly through the others, and /readyz names it";
    it(
      deadTitle,
      async () => {
        const dead = "South";
        procs.get(`broker-${dead}`)!.kill("SIGKILL");
        await procs.get(`broker-${dead}`)!.exited;
        const ready = await waitForReadiness((r) => r.unreachable.includes(dead), 20_000);
        expect(ready.status).toBe(200);
        expect(ready.body.status).toBe("ready");
        expect(ready.body.reachable).not.toContain(dead);
        expect(ready.body.reachable.length).toBeGreaterThan(0);

        // Queries around the dead broker's region, most of them straddling its borders.
        const southBorder = border.filter((p) => map.distanceToRegion(p, dead) < 1000);
        const around: Case[] = [];
        for (let i = 0; i < 40; i++) {
          const c = offset(pick(southBorder), between(0, 20_000), rand() * 2 * Math.PI);
          around.push(
            i % 2
              ? nearGet(c, i % 4 === 1 ? 2 : 1)
              : searchCase("within circle", c, {
                  within: { circle: { center: c, radius: Math.round(logUniform(5000, 300_000)) } },
                }),
          );
        }
        const outcomes: Outcome[] = [];
        // One store per region: nobody else can serve South now, so the answers must equal the
        // global index without South's places, and say so.
        const missing = options.singleStore ? dead : undefined;
        await pool(around, 4, async (c) => {
          outcomes.push(await runCase(c, missing));
        });
        const mismatches = outcomes.flatMap((o) => (o.mismatch ? [o.mismatch] : []));
        if (missing)
          expect(outcomes.filter((o) => o.unavailable.has(dead)).length).toBeGreaterThanOrEqual(20);
        else expect(outcomes.every((o) => o.unavailable.size === 0)).toBe(true);
        console.log(
          `after killing ${dead}: ${around.length} queries, slowest ${Math.max(...outcomes.map((o) => o.ms))} ms`,
        );
        expect(
          mismatches.slice(0, 5),
          `${mismatches.length} of ${around.length} queries disagree`,
        ).toEqual([]);
        if (!missing)
          expect(outcomes.filter((o) => o.regions.has(dead)).length).toBeGreaterThanOrEqual(20);
      },
      120_000,
    );
  });
}
