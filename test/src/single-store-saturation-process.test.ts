/**
 * Issue 10, step 1, with real processes in the deployment shape: five brokers, one worker per
 * region holding only its own region's store, one leaf slot and one coordinating slot each
 * (10 slots in the cluster). Far more concurrent multi-region unqualified requests than slots —
 * from GMP clients and stock 7/MDP REQ sockets at several brokers — all answer, exactly as a
 * brute-force scan: a coordinating request never holds the slot its own sub-requests need. Then
 * a broker is SIGKILLed: what needs its region answers at once, partial and naming it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { synthetic } from "@geomesh/datasets";
import {
  type LngLat,
  type Place,
  defaultRegionMap,
  parseNearBody,
  parseWithinBody,
} from "@geomesh/geo";
import { bruteForceNear, bruteForceWithin, seededRandom } from "@geomesh/geo/testing";
import { Client } from "@geomesh/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { GEOMESH_BIN, GeomeshProcess, writeClusterConfig } from "./helpers/processes.js";

const run = promisify(execFile);
const HB = { intervalMs: 250, liveness: 3 };
const N = 3000;
const SEED = 31;
const map = defaultRegionMap();
const REGIONS = map.names();
const procs = new Map<string, GeomeshProcess>();
const clients: Client[] = [];
const sockets: zmq.Request[] = [];
let frontends: Record<string, string> = {};
let places: Place[] = [];
const ownerOf = new Map<string, string>();

interface FeatureCollection {
  features: { id: string; properties: { distance?: number } }[];
  partial?: boolean;
  unavailable?: string[];
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "geomesh-single-"));
  const { path: config, input } = await writeClusterConfig(dir, { heartbeat: HB });
  frontends = Object.fromEntries(input.regions.map((r) => [r.name, r.endpoints.frontend]));
  for (const region of REGIONS)
    procs.set(region, new GeomeshProcess(["--config", config, "broker", "--region", region]));
  await Promise.all(REGIONS.map((r) => procs.get(r)!.waitForLog(/^broker started$/, 60_000)));
  for (const r of input.regions) {
    const worker = new GeomeshProcess([
      "--config",
      config,
      "worker",
      "--region",
      r.name,
      "--store",
      r.store,
      "--concurrency",
      "1",
      "--coordinators",
      "1",
    ]);
    procs.set(`worker-${r.name}`, worker);
  }
  // Each worker registers twice: its leaf slot and its coordinating slot.
  for (const region of REGIONS) {
    const w = procs.get(`worker-${region}`)!;
    const until = Date.now() + 90_000;
    while (w.lines.filter((l) => l.msg === "worker registered").length < 2) {
      if (Date.now() > until) throw new Error(`worker ${region} did not register twice`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const { stdout } = await run(
    process.execPath,
    [GEOMESH_BIN, "--config", config, "load", `synthetic:${N}:${SEED}`, "--no-progress"],
    { timeout: 120_000 },
  );
  places = [...synthetic(N, { seed: SEED })]
    .filter((p) => map.regionOf(p.location.coordinates) !== undefined)
    .map((p) => ({ ...p, updatedAt: "2026-01-01T00:00:00.000Z" }));
  for (const p of places) ownerOf.set(p.id, map.regionOf(p.location.coordinates)!);
  expect(stdout).toContain(`${places.length.toLocaleString("en-US")} accepted`);
}, 240_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const s of sockets) s.close();
  await Promise.all([...procs.values()].map((p) => p.destroy()));
});

/** A border-straddling query (a point within ~100 km of two regions, or a big circle). */
function queries(
  count: number,
  seed: number,
): { service: string; body: Record<string, unknown> }[] {
  const rand = seededRandom(seed);
  const centres: LngLat[] = [
    [-80.5, 39.7], // NE / South / MW
    [-94.6, 36.5], // MW / South / SW
    [-109.05, 41], // SW / CA
    [-84.8, 39.1], // MW / South
    [-75.5, 39.8], // NE / South
  ];
  return Array.from({ length: count }, (_, i) => {
    const c = centres[i % centres.length]!;
    const point: LngLat = [c[0] + (rand() - 0.5) * 1.5, c[1] + (rand() - 0.5) * 1.5];
    return i % 3 === 0
      ? {
          service: "geo.within",
          body: { circle: { center: point, radius: 150_000 + rand() * 300_000 }, limit: 50 },
        }
      : { service: "geo.near", body: { point, limit: 5 + Math.floor(rand() * 40) } };
  });
}

function oracleIds(service: string, body: Record<string, unknown>, without?: string): string[] {
  const data = without ? places.filter((p) => ownerOf.get(p.id) !== without) : places;
  const page =
    service === "geo.near"
      ? bruteForceNear(data, parseNearBody(body))
      : bruteForceWithin(data, parseWithinBody(body));
  return page.hits.map((h) => h.place.id);
}

function client(region: string): Client {
  const c = new Client({ endpoint: frontends[region]!, heartbeat: HB });
  clients.push(c);
  return c;
}

async function mdp(socket: zmq.Request, service: string, body: unknown): Promise<unknown> {
  await socket.send(["MDPC01", service, JSON.stringify(body)]);
  const [, , reply] = await socket.receive();
  return JSON.parse(reply!.toString());
}

describe("five regions of single-store workers", () => {
  it("answers far more concurrent multi-region requests than slots, none deadlocked", async () => {
    const all = queries(240, 7);
    const entries = ["NE", "SW", "MW"].map((r) => client(r));
    const gmp = all.slice(0, 200).map(async (q, i) => {
      const reply = await entries[i % entries.length]!.request(q.service, JSON.stringify(q.body), {
        timeoutMs: 60_000,
      });
      return {
        q,
        status: reply.status,
        fc: JSON.parse(reply.body.toString()) as FeatureCollection,
      };
    });
    // Stock 7/MDP clients too: 20 REQ sockets at two brokers, two requests each.
    const stock = Array.from({ length: 20 }, async (_, k) => {
      const socket = new zmq.Request({ linger: 0, receiveTimeout: 60_000 });
      sockets.push(socket);
      socket.connect(frontends[k % 2 ? "CA" : "South"]!);
      const out: { q: (typeof all)[number]; status: number; fc: FeatureCollection }[] = [];
      for (const q of all.slice(200 + k * 2, 202 + k * 2)) {
        const fc = (await mdp(socket, q.service, q.body)) as FeatureCollection & {
          status?: number;
        };
        out.push({ q, status: fc.status ?? 200, fc });
      }
      return out;
    });
    const results = [...(await Promise.all(gmp)), ...(await Promise.all(stock)).flat()];
    expect(results).toHaveLength(240);
    const bad = results.filter((r) => r.status !== 200 || r.fc.partial);
    expect(bad.slice(0, 3).map((r) => JSON.stringify(r.fc).slice(0, 300))).toEqual([]);
    let crossRegion = 0;
    for (const { q, fc } of results) {
      const want = oracleIds(q.service, q.body);
      expect(
        fc.features.map((f) => f.id),
        JSON.stringify(q),
      ).toEqual(want);
      if (new Set(want.map((id) => ownerOf.get(id))).size >= 2) crossRegion += 1;
    }
    // The load really is multi-region.
    expect(crossRegion).toBeGreaterThan(results.length / 3);
  }, 180_000);

  it("answers at once, partial and naming it, when a region's broker is SIGKILLed", async () => {
    procs.get("South")!.kill("SIGKILL");
    await procs.get("South")!.exited;
    const c = client("NE");
    // Let the peers notice (liveness × interval), then ask around South from NE.
    await new Promise((r) => setTimeout(r, HB.intervalMs * HB.liveness + 500));
    const socket = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
    sockets.push(socket);
    socket.connect(frontends.NE!);
    let partial = 0;
    for (const q of queries(20, 99)) {
      const started = performance.now();
      const fc =
        q.service === "geo.near"
          ? ((await mdp(socket, q.service, q.body)) as FeatureCollection)
          : (JSON.parse(
              (
                await c.request(q.service, JSON.stringify(q.body), { timeoutMs: 10_000 })
              ).body.toString(),
            ) as FeatureCollection);
      const ms = performance.now() - started;
      expect(fc.features.map((f) => f.id)).toEqual(oracleIds(q.service, q.body, "South"));
      if (fc.partial) {
        partial += 1;
        expect(fc.unavailable).toEqual(["South"]);
      }
      // Never a wait for the deadline: the dead region is known at once.
      expect(ms).toBeLessThan(3000);
    }
    expect(partial).toBeGreaterThanOrEqual(8);
    // A write for the dead region is refused with a clear 503, not lost or hung.
    const write = (await mdp(socket, "place.upsert", {
      id: "atl-1",
      name: "Atlanta",
      category: "city",
      location: { type: "Point", coordinates: [-84.39, 33.75] },
    })) as { status: number; error: { code: string; data?: { unavailable?: string[] } } };
    expect(write.status).toBe(503);
    expect(write.error.code).toBe("REGION_UNAVAILABLE");
  }, 60_000);
});
