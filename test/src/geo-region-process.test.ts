/**
 * One region on its own, as it is deployed: a region broker and one worker holding only that
 * region's store (`--store`), data loaded from an NDJSON file with `geomesh load --broker`, then
 * a stock 7/MDP client (a REQ socket written from the RFC) asking the unqualified geo.near /
 * geo.within — every answer compared with a brute-force scan of the loaded data. The other
 * regions of the config have no broker: answers that would need them say so (`partial`,
 * `unavailable`) and come back at once instead of waiting.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { defaultClusterInput } from "@geomesh/config";
import { synthetic } from "@geomesh/datasets";
import { type Place, defaultRegionMap, parseNearBody, parseWithinBody } from "@geomesh/geo";
import { bruteForceNear, bruteForceWithin, seededRandom } from "@geomesh/geo/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { GEOMESH_BIN, GeomeshProcess, freeEndpoint, freePortRange } from "./helpers/processes.js";

const run = promisify(execFile);
const N = 3000;
const SEED = 11;
const procs: GeomeshProcess[] = [];
let frontend = "";
let req: zmq.Request;
let places: Place[] = [];
const latencies: number[] = [];
let partialReplies = 0;
const UNKNOWN_SERVICE_MS = 300;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "geomesh-geo-"));
  const config = join(dir, "geomesh.config.json");
  writeFileSync(
    config,
    JSON.stringify({
      ...defaultClusterInput({ dataDir: dir, basePort: await freePortRange(50) }),
      heartbeat: { intervalMs: 250, liveness: 3 },
      limits: { unknownServiceMs: UNKNOWN_SERVICE_MS },
    }),
  );
  // The region's own rows, as a user's file: the synthetic set's NE places as NDJSON.
  const map = defaultRegionMap();
  const rows = [...synthetic(N, { seed: SEED })].filter(
    (p) => map.regionOf(p.location.coordinates) === "NE",
  );
  const file = join(dir, "ne.ndjson");
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  frontend = await freeEndpoint();
  const backend = await freeEndpoint();
  const broker = new GeomeshProcess([
    "--config",
    config,
    "broker",
    "--region",
    "NE",
    "--frontend",
    frontend,
    "--backend",
    backend,
  ]);
  procs.push(broker);
  await broker.waitForLog(/^broker started$/);
  const worker = new GeomeshProcess([
    "--config",
    config,
    "worker",
    "--region",
    "NE",
    "--broker",
    backend,
    "--frontend",
    frontend,
    "--store",
    `sqlite:${join(dir, "ne.sqlite")}`,
    "--concurrency",
    "4",
  ]);
  procs.push(worker);
  await worker.waitForLog(/^worker registered$/, 60_000);
  const { stdout } = await run(
    process.execPath,
    [GEOMESH_BIN, "--config", config, "load", file, "--broker", frontend, "--no-progress"],
    { timeout: 120_000 },
  );
  const count = rows.length.toLocaleString("en-US");
  expect(stdout).toContain(`read ${count} rows: ${count} accepted`);
  // The oracle's copy of what was loaded.
  places = rows.map((p) => ({ ...p, updatedAt: "2026-01-01T00:00:00.000Z" }));
  req = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
  req.connect(frontend);
}, 180_000);

afterAll(async () => {
  req?.close();
  await Promise.all(procs.map((p) => p.destroy()));
});

interface Reply {
  features: { id: string; properties: { distance?: number; region: string } }[];
  partial?: boolean;
  unavailable?: string[];
}

async function ask(service: string, body: unknown): Promise<Reply> {
  const started = performance.now();
  await req.send(["MDPC01", service, JSON.stringify(body)]);
  const [header, echoed, reply] = await req.receive();
  latencies.push(performance.now() - started);
  expect([header!.toString(), echoed!.toString()]).toEqual(["MDPC01", service]);
  const parsed = JSON.parse(reply!.toString()) as Reply;
  // Only NE has a broker: whatever else a query needed is named, never silently left out.
  for (const r of parsed.unavailable ?? []) expect(r).not.toBe("NE");
  expect(parsed.partial === true).toBe((parsed.unavailable?.length ?? 0) > 0);
  if (parsed.partial) partialReplies += 1;
  return parsed;
}

describe("one region on its own: a broker and a single-store worker, loaded with geomesh load", () => {
  it("answers a stock 7/MDP client's geo.near exactly as a brute-force scan", async () => {
    const rand = seededRandom(5);
    for (let i = 0; i < 150; i++) {
      // Half the points near loaded places (dense answers), half anywhere over the US.
      const anchor = places[Math.floor(rand() * places.length)]!.location.coordinates;
      const point: [number, number] =
        i % 2
          ? [anchor[0] + (rand() - 0.5) * 0.5, anchor[1] + (rand() - 0.5) * 0.5]
          : [-125 + rand() * 58, 25 + rand() * 24];
      const body: Record<string, unknown> = { point, limit: 1 + Math.floor(rand() * 20) };
      if (i % 3 === 0) body.maxDistance = Math.round(rand() * 200_000);
      if (i % 5 === 0) body.minDistance = Math.round(rand() * 5_000);
      const reply = await ask("geo.near", body);
      const oracle = bruteForceNear(places, parseNearBody(body));
      expect(
        reply.features.map((f) => f.id),
        JSON.stringify(body),
      ).toEqual(oracle.hits.map((h) => h.place.id));
      reply.features.forEach((f, k) =>
        expect(f.properties.distance).toBeCloseTo(oracle.hits[k]!.distance!, 3),
      );
    }
  });

  it("answers geo.within circles and boxes exactly as a brute-force scan", async () => {
    const rand = seededRandom(9);
    for (let i = 0; i < 100; i++) {
      const c = places[Math.floor(rand() * places.length)]!.location.coordinates;
      const body =
        i % 2
          ? { circle: { center: c, radius: Math.round(1000 + rand() * 80_000) }, limit: 1000 }
          : {
              box: [
                [c[0] - rand(), c[1] - rand() * 0.5],
                [c[0] + rand(), c[1] + rand() * 0.5],
              ],
              limit: 1000,
            };
      const reply = await ask("geo.within", body);
      const oracle = bruteForceWithin(places, parseWithinBody(body));
      expect(
        reply.features.map((f) => f.id),
        JSON.stringify(body),
      ).toEqual(oracle.hits.map((h) => h.place.id));
    }
  });

  it("answers hostile bodies with a 4xx error body and keeps serving", async () => {
    for (const body of [
      '{"point":[0,0],"$where":"1"}',
      '{"__proto__":{"x":1},"point":[0,0]}',
      '{"point":[NaN,0]}',
      "not json",
      '{"point":[-74,40.7],"limit":100000}',
    ]) {
      await req.send(["MDPC01", "geo.near", body]);
      const [, , reply] = await req.receive();
      const parsed = JSON.parse(reply!.toString()) as {
        status: number;
        error: { message: string };
      };
      expect(parsed.status, body).toBeGreaterThanOrEqual(400);
      expect(parsed.status, body).toBeLessThan(500);
      expect(parsed.error.message.length).toBeGreaterThan(5);
    }
    const ok = await ask("geo.near", { point: [-74, 40.7], limit: 1 });
    expect(ok.features).toHaveLength(1);
  });

  it("answers every request well within a second, naming the regions that have no broker", () => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)]!;
    const max = sorted[sorted.length - 1]!;
    console.log(
      `${sorted.length} requests (${partialReplies} partial): p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    // Many queries reach past NE's borders (or ask for more than NE holds nearby).
    expect(partialReplies).toBeGreaterThan(20);
    // A hang guard, not a benchmark: a missing region costs at most the unknown-service bound.
    expect(max).toBeLessThan(UNKNOWN_SERVICE_MS + 1500);
  });

  it("answers a service nobody offers with 404 within limits.unknownServiceMs", async () => {
    const started = performance.now();
    await req.send(["MDPC01", "no.such.service", "{}"]);
    const [, , reply] = await req.receive();
    const elapsed = performance.now() - started;
    expect(JSON.parse(reply!.toString())).toMatchObject({
      status: 404,
      error: { code: "SERVICE_NOT_FOUND" },
    });
    console.log(
      `unknown service answered in ${elapsed.toFixed(0)} ms (bound ${UNKNOWN_SERVICE_MS})`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(UNKNOWN_SERVICE_MS - 5);
    expect(elapsed).toBeLessThan(UNKNOWN_SERVICE_MS + 1000);
  });
});
