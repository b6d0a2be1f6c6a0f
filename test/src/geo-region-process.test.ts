/**
 * Issue 3's acceptance path with real processes: a region broker and a worker on embedded
 * stores, data loaded with `geomesh load`, then a stock 7/MDP client (a REQ socket written from
 * the RFC) asking geo.near / geo.within — every answer compared with a brute-force computation
 * over the same data.
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
import { GEOMESH_BIN, GeomeshProcess, freeEndpoint } from "./helpers/processes.js";

const run = promisify(execFile);
const N = 3000;
const SEED = 11;
const procs: GeomeshProcess[] = [];
let frontend = "";
let req: zmq.Request;
let places: Place[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "geomesh-geo-"));
  const config = join(dir, "geomesh.config.json");
  writeFileSync(
    config,
    JSON.stringify({
      ...defaultClusterInput({ dataDir: dir }),
      heartbeat: { intervalMs: 250, liveness: 3 },
    }),
  );
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
    "--concurrency",
    "4",
  ]);
  procs.push(worker);
  await worker.waitForLog(/^worker registered$/, 60_000);
  const { stdout } = await run(
    process.execPath,
    [
      GEOMESH_BIN,
      "--config",
      config,
      "load",
      `synthetic:${N}:${SEED}`,
      "--broker",
      frontend,
      "--no-progress",
    ],
    { timeout: 120_000 },
  );
  expect(stdout).toMatch(new RegExp(`read ${N.toLocaleString("en-US")} rows: [\\d,]+ accepted`));
  // The oracle's copy of what was loaded: the same seeded rows, minus those no region owns.
  const map = defaultRegionMap();
  places = [...synthetic(N, { seed: SEED })]
    .filter((p) => map.regionOf(p.location.coordinates) !== undefined)
    .map((p) => ({ ...p, updatedAt: "2026-01-01T00:00:00.000Z" }));
  req = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
  req.connect(frontend);
}, 180_000);

afterAll(async () => {
  req?.close();
  await Promise.all(procs.map((p) => p.destroy()));
});

async function ask(
  service: string,
  body: unknown,
): Promise<{ features: { id: string; properties: { distance?: number } }[] }> {
  await req.send(["MDPC01", service, JSON.stringify(body)]);
  const [header, echoed, reply] = await req.receive();
  expect([header!.toString(), echoed!.toString()]).toEqual(["MDPC01", service]);
  return JSON.parse(reply!.toString()) as {
    features: { id: string; properties: { distance?: number } }[];
  };
}

describe("a region broker + worker on embedded stores, loaded with geomesh load", () => {
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
});
