/**
 * The `npm start` path: `geomesh up` with a temp data dir on free ports. The first run starts
 * five brokers, their workers and the gateway, loads the bundled US cities and ZIPs and prints a
 * URL that works; near answers equal a brute-force scan of the bundled datasets (also next to
 * region borders); SIGINT stops every process with exit code 0; a second run on the same data
 * dir does not load again and answers the same.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { defaultWorkersPerRegion } from "@geomesh/config";
import { resolveSource } from "@geomesh/datasets";
import { type Place, completePlace, defaultRegionMap } from "@geomesh/geo";
import { bruteForceNear } from "@geomesh/geo/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GeomeshProcess, childrenOf, freePortRange, isAlive } from "./helpers/processes.js";

const LOG_ENV = { GEOMESH_LOG_LEVEL: "info" };
/** What `npm start` runs (the root package.json's start script), minus the `geomesh` command. */
const START_ARGS = (() => {
  const pkg = JSON.parse(
    readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8"),
  ) as { scripts: { start: string } };
  const [bin, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (bin !== "geomesh") throw new Error(`npm start runs ${bin}, not geomesh`);
  return args;
})();
const GATEWAYS = START_ARGS.includes("--gateways")
  ? Number(START_ARGS[START_ARGS.indexOf("--gateways") + 1])
  : 1;
/** 5 brokers, the workers (up's default per region: 2, 1 below 4 cores), the gateways. */
const CHILDREN = 5 + 5 * defaultWorkersPerRegion() + GATEWAYS;
const NEAR_NYC = "/v1/places/near?lng=-73.99&lat=40.73&limit=5";
/** Points a few km from a region border, whose 10 nearest places lie in both regions. */
const BORDER_POINTS: readonly (readonly [string, number, number, readonly string[]])[] = [
  ["PA/MD", -76.7, 39.72, ["NE", "South"]],
  ["Cincinnati", -84.51, 39.1, ["MW", "South"]],
  ["Texarkana", -94.05, 33.43, ["South", "SW"]],
  ["Lake Tahoe", -119.95, 39.0, ["CA", "SW"]],
];

const map = defaultRegionMap();
let dir = "";
let basePort = 0;
let gatewayPort = 0;
let places: Place[] = [];
const runs: GeomeshProcess[] = [];
/** Every child pid seen, so cleanup can reach them even if `up` itself died. */
const seenPids = new Set<number>();
let url = "";
let firstNyc: unknown;

interface FeatureCollection {
  type: string;
  features: {
    id: string;
    geometry: { coordinates: [number, number] };
    properties: { distance: number; region: string };
  }[];
}

/** The bundled datasets as `up` loads them: valid rows with an owning region, last row per id wins. */
async function bundledPlaces(): Promise<Place[]> {
  const byId = new Map<string, Place>();
  for (const source of ["cities", "zips"]) {
    for await (const row of (await resolveSource(source)).rows)
      if (row.ok && map.regionOf(row.place.location.coordinates) !== undefined)
        byId.set(row.place.id, completePlace(row.place));
  }
  return [...byId.values()];
}

/** The pid in the last log line of each child's log file (logs are appended across runs). */
function pidsFromLogs(): Map<string, number> {
  const out = new Map<string, number>();
  const logs = join(dir, "logs");
  for (const file of readdirSync(logs)) {
    // pino's base fields open every line: {"level":…,"time":…,"pid":…
    const pids = [
      ...readFileSync(join(logs, file), "utf8").matchAll(
        /^\{"level":\d+,"time":"[^"]*","pid":(\d+)/gm,
      ),
    ];
    const last = pids[pids.length - 1];
    if (last) out.set(file.replace(/\.log$/, ""), Number(last[1]));
  }
  return out;
}

function startUp(): GeomeshProcess {
  const up = new GeomeshProcess(
    [
      ...START_ARGS,
      "--data-dir",
      dir,
      "--base-port",
      String(basePort),
      "--gateway-port",
      String(gatewayPort),
    ],
    LOG_ENV,
  );
  runs.push(up);
  return up;
}

function printed(up: GeomeshProcess): string[] {
  return up.lines.flatMap((l) => (typeof l.msg === "string" ? [l.msg] : []));
}

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: (await res.json()) as T };
}

/** Checks a near answer against the brute-force scan: same ids in order, same distances, owning regions. */
function expectNearest(fc: FeatureCollection, lng: number, lat: number, limit: number): void {
  const expected = bruteForceNear(places, { point: [lng, lat], limit }).hits;
  expect(fc.features.map((f) => f.id)).toEqual(expected.map((h) => h.place.id));
  fc.features.forEach((f, i) => {
    expect(f.properties.distance).toBeCloseTo(expected[i]!.distance!, 3);
    expect(f.properties.region).toBe(map.regionOf(f.geometry.coordinates));
  });
}

/** SIGINT, then: exit code 0, "stopped." printed, and none of the cluster's processes left. */
async function stopGracefully(up: GeomeshProcess): Promise<void> {
  // Besides the geomesh processes, `up` has tsx's esbuild service as a child: it must go too.
  const all = childrenOf(up.pid!);
  const children = all.map((c) => c.pid);
  const geomesh = all.filter((c) => c.cmd.includes("geomesh.js")).map((c) => c.pid);
  const logged = pidsFromLogs();
  for (const pid of children) seenPids.add(pid);
  expect(geomesh).toHaveLength(CHILDREN);
  expect(logged.size).toBe(CHILDREN);
  // The pids the children log are the processes `up` runs.
  expect([...logged.values()].sort()).toEqual([...geomesh].sort());
  up.kill("SIGINT");
  const exit = await Promise.race([
    up.exited,
    sleep(90_000).then(() => ({ code: "no exit within 90 s", signal: null })),
  ]);
  expect(exit).toEqual({ code: 0, signal: null });
  const lines = printed(up);
  expect(lines).toContain("SIGINT: stopping the cluster gracefully…");
  expect(lines).toContain("stopped.");
  // `up` waited for each child's exit before printing "stopped."; allow the kernel a moment.
  for (let i = 0; i < 50 && children.some(isAlive); i++) await sleep(100);
  expect(
    all.filter((c) => isAlive(c.pid)).map((c) => `${c.pid} still running: ${c.cmd}`),
    [...logged].map(([n, p]) => `${n}=${p}`).join(" "),
  ).toEqual([]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geomesh-npm-start-"));
  basePort = await freePortRange(50);
  gatewayPort = await freePortRange(GATEWAYS);
  places = await bundledPlaces();
}, 60_000);

afterAll(async () => {
  for (const up of runs) {
    if (!up.alive) continue;
    for (const { pid } of childrenOf(up.pid!)) seenPids.add(pid);
    up.kill("SIGINT");
    await Promise.race([up.exited, sleep(30_000)]);
    await up.destroy();
  }
  for (const pid of seenPids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("npm start (geomesh up)", () => {
  it("starts the cluster, loads the bundled cities and ZIPs on the first run and prints a URL that answers", async () => {
    const up = startUp();
    const line = await up.waitForLog(/^HTTP API: http:\/\//, 240_000);
    url = /^HTTP API: (http:\/\/[^/\s]+)/.exec(line.msg!)![1]!;
    expect(url).toBe(`http://127.0.0.1:${gatewayPort}`);
    // Every gateway npm start runs answers (the others on the following ports).
    for (let i = 1; i < GATEWAYS; i++)
      expect(
        (await fetch(`http://127.0.0.1:${gatewayPort + i}/healthz`)).status,
        `gateway ${i + 1}`,
      ).toBe(200);
    await up.waitForLog(/^Sample data loaded; later runs reuse it\.$/, 300_000);
    const lines = printed(up);
    expect(lines.some((l) => l.startsWith("First run: loading the bundled US cities"))).toBe(true);
    // Every place the oracle holds was accepted, and nothing else.
    const accepted = lines
      .map((l) => /^(cities|zips): read [\d,]+ rows?: ([\d,]+) accepted/.exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m[2]!.replaceAll(",", "")));
    expect(accepted).toHaveLength(2);
    expect(accepted[0]! + accepted[1]!).toBe(places.length);

    const shown = /(http:\/\/\S+\/v1\/places\/near\?\S+)/.exec(line.msg!)![1]!;
    const res = await fetch(shown, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
    const fc = (await res.json()) as FeatureCollection;
    expect(fc.type).toBe("FeatureCollection");
    const q = new URL(shown).searchParams;
    expectNearest(fc, Number(q.get("lng")), Number(q.get("lat")), 10);
  }, 600_000);

  it("answers GET /v1/places/near with the 5 nearest bundled places, as a brute-force scan finds them", async () => {
    const { status, body } = await getJson<FeatureCollection>(NEAR_NYC);
    expect(status).toBe(200);
    expect(body.features).toHaveLength(5);
    expectNearest(body, -73.99, 40.73, 5);
    firstNyc = body;
  });

  it.each(BORDER_POINTS)(
    "answers near %s with the nearest places from both sides of the region border",
    async (_name, lng, lat, regions) => {
      const { status, body } = await getJson<FeatureCollection>(
        `/v1/places/near?lng=${lng}&lat=${lat}&limit=10`,
      );
      expect(status).toBe(200);
      expectNearest(body, lng, lat, 10);
      expect([...new Set(body.features.map((f) => f.properties.region))].sort()).toEqual(
        [...regions].sort(),
      );
    },
  );

  it("stops every process gracefully on SIGINT: exit code 0, 'stopped.', no child left", async () => {
    await stopGracefully(runs[0]!);
  }, 120_000);

  it("does not load again on a second run with the same data dir, and answers the same", async () => {
    const up = startUp();
    await up.waitForLog(/^Press Ctrl-C to stop\.$/, 240_000);
    const { status, body } = await getJson<FeatureCollection>(NEAR_NYC);
    expect(status).toBe(200);
    expect(body).toEqual(firstNyc);
    // The first-run check runs right after the "up" banner; by now it would have printed.
    expect(printed(up).filter((l) => /First run|Sample data loaded/.test(l))).toEqual([]);
    await stopGracefully(up);
  }, 360_000);
});
