/**
 * End-to-end (DESIGN §9): `GET /v1/places/near` through the five-region cluster, started as
 * `npm start` starts it (`geomesh up`: 5 brokers, 10 workers, the gateway, each its own
 * process), against a bare Fastify route in its own process that runs the same query through an
 * in-process `Coordinator` on the same SQLite files. One autocannon load generator in this
 * process drives both the same way: same query points, connections and duration.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { createPrng, usCities } from "@geomesh/datasets";
import {
  type Cluster,
  type Member,
  coresOf,
  cpuSummary,
  groupMembers,
  pct,
  startCluster,
  stopGroup,
  withCpu,
} from "./cluster.js";
import { GEOMESH_BIN, spawnUntil, stopAll } from "./processes.js";
import { type BenchOptions, type BenchReport, fmt, percentile } from "./report.js";

const CONNECTIONS = 32;
const POINTS = 1000;
const POINT_SEED = 20_241_121;
const LIMIT = 10;
const SANITY_POINTS = 20;
const TARGET = 0.6;
const P99_TARGET = 2;
/** New places `geomesh load` writes through the brokers after the query runs (`--quick`: a quarter). */
const LOAD_PLACES = 200_000;
const LOAD_SEED = 4242;

/** Query strings for `POINTS` city locations drawn with a seed, each nudged by up to ±0.05°. */
function queryStrings(): string[] {
  const cities = usCities();
  const rng = createPrng(POINT_SEED);
  return Array.from({ length: POINTS }, () => {
    const c = cities[rng.int(cities.length)]!;
    const lng = Math.max(-180, Math.min(180, c.lng + (rng.next() - 0.5) * 0.1));
    const lat = Math.max(-90, Math.min(90, c.lat + (rng.next() - 0.5) * 0.1));
    return `lng=${lng.toFixed(5)}&lat=${lat.toFixed(5)}&limit=${LIMIT}`;
  });
}

interface Load {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statuses: Record<string, number>;
}

/**
 * `CONNECTIONS` keep-alive connections for `seconds`, one request in flight each; connection k
 * walks the query list from its own offset, so requests vary and connections do not move in step.
 */
function drive(
  base: string,
  path: string,
  queries: readonly string[],
  seconds: number,
): Promise<Load> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let nextClient = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
        setupClient: (client) => {
          const offset = Math.floor((nextClient++ * queries.length) / CONNECTIONS);
          const rotated = [...queries.slice(offset), ...queries.slice(0, offset)];
          client.setRequests(rotated.map((q) => ({ method: "GET", path: `${path}?${q}` })));
        },
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error("autocannon failed"));
        latencies.sort((a, b) => a - b);
        resolve({
          rps: ok / result.duration,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statuses,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) {
        ok += 1;
        latencies.push(responseTime);
      }
    });
  });
}

interface NearReply {
  readonly features?: readonly { readonly id?: unknown }[];
}

/** Asks both targets the same few queries; counts answers with the same ids in the same order. */
async function sameAnswers(
  cluster: string,
  baseline: string,
  queries: readonly string[],
): Promise<{ same: number; identicalBodies: number; mismatches: string[] }> {
  let same = 0;
  let identicalBodies = 0;
  const mismatches: string[] = [];
  for (const q of queries) {
    const [a, b] = await Promise.all(
      [`${cluster}/v1/places/near?${q}`, `${baseline}/near?${q}`].map(async (url) => {
        const res = await fetch(url);
        const text = await res.text();
        if (res.status !== 200)
          throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
        return text;
      }),
    );
    const ids = (text: string) =>
      ((JSON.parse(text) as NearReply).features ?? []).map((f) => String(f.id)).join(",");
    if (ids(a!) === ids(b!)) same += 1;
    else mismatches.push(`${q}: cluster [${ids(a!)}] vs baseline [${ids(b!)}]`);
    if (a === b) identicalBodies += 1;
  }
  return { same, identicalBodies, mismatches };
}

/** The baseline's count of leaf calls so far. */
async function leafCalls(baseline: string): Promise<number> {
  const stats = (await (await fetch(`${baseline}/stats`)).json()) as { leafCalls?: unknown };
  return typeof stats.leafCalls === "number" ? stats.leafCalls : NaN;
}

const perRequest = (cores: number, rps: number) => `${((cores / rps) * 1000).toFixed(2)} ms/req`;

const problems = (l: Load) => l.non2xx + l.errors + l.timeouts;

function describeProblems(l: Load): string {
  const codes = Object.entries(l.statuses)
    .filter(([s]) => !s.startsWith("2"))
    .map(([s, n]) => `${n.toLocaleString("en-US")} × HTTP ${s}`);
  return [
    ...codes,
    ...(l.errors > 0 ? [`${l.errors} socket errors`] : []),
    ...(l.timeouts > 0 ? [`${l.timeouts} timeouts`] : []),
  ].join(", ");
}

/** Runs `geomesh load <source>` against the cluster to completion; its summary and wall time. */
async function timedLoad(
  configPath: string,
  source: string,
): Promise<{ seconds: number; summary: string }> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [GEOMESH_BIN, "--config", configPath, "load", source, "--no-progress"],
    { env: { ...process.env, GEOMESH_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`geomesh load ${source} exited with ${code}: ${out.trim()}`);
  return { seconds, summary: out.trim().split("\n")[0] ?? "" };
}

export async function run({ quick, log }: BenchOptions): Promise<BenchReport> {
  const seconds = quick ? 3 : 10;
  const loadPlaces = quick ? LOAD_PLACES / 4 : LOAD_PLACES;
  const warmup = quick ? 2 : 3;
  const queries = queryStrings();
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), "geomesh-bench-e2e-"));
  let cluster: Cluster | undefined;
  let baseline: ChildProcess | undefined;
  const cleanup = async () => {
    if (baseline) await stopAll([baseline]);
    if (cluster) await stopGroup(cluster.child);
    rmSync(dir, { recursive: true, force: true });
  };
  // Interrupted (Ctrl-C): `up` runs in its own process group and would not see the terminal's
  // signal, so stop it here before exiting.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the cluster and the baseline…`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    log("starting the cluster and loading the sample data (first run)…");
    const t0 = Date.now();
    cluster = await startCluster(dir, log);
    log(
      `cluster up with data in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${cluster.loaded.join("; ")}`,
    );
    const started = await spawnUntil(
      [
        "--import",
        "tsx",
        fileURLToPath(new URL("./e2e-baseline.ts", import.meta.url)),
        cluster.configPath,
      ],
      /^http:\/\//,
    );
    baseline = started.child;
    const baselineUrl = started.line.trim();
    log(`baseline (pid ${baseline.pid}) at ${baselineUrl}`);

    const sanity = await sameAnswers(
      cluster.gateways[0]!,
      baselineUrl,
      queries.slice(0, SANITY_POINTS),
    );
    log(
      `same ids for ${sanity.same}/${SANITY_POINTS} sample points (${sanity.identicalBodies} byte-identical bodies)`,
    );
    for (const m of sanity.mismatches.slice(0, 3)) log(`  mismatch: ${m}`);

    const members = groupMembers(cluster.child.pid!);
    const baselineMember: Member[] = [{ pid: baseline.pid!, role: "baseline server" }];

    log(`baseline: warm-up ${warmup} s, then ${seconds} s at ${CONNECTIONS} connections…`);
    await drive(baselineUrl, "/near", queries, warmup);
    const leavesBefore = await leafCalls(baselineUrl);
    const base = await withCpu(baselineMember, () => drive(baselineUrl, "/near", queries, seconds));
    const leavesPerQuery =
      ((await leafCalls(baselineUrl)) - leavesBefore) / (base.result.ok + base.result.non2xx);
    log(
      `baseline: ${fmt.rate(base.result.rps)}, p50 ${fmt.ms(base.result.p50)}, p99 ${fmt.ms(base.result.p99)}; CPU: ${cpuSummary(base.cores, (c) => perRequest(c, base.result.rps))}, load generator ${pct(base.self)}, whole machine ${base.machine === undefined ? "?" : pct(base.machine)}`,
    );

    log(`cluster: warm-up ${warmup} s, then ${seconds} s at ${CONNECTIONS} connections…`);
    await drive(cluster.gateways[0]!, "/v1/places/near", queries, warmup);
    const mesh = await withCpu(members, () =>
      drive(cluster!.gateways[0]!, "/v1/places/near", queries, seconds),
    );
    log(
      `cluster: ${fmt.rate(mesh.result.rps)}, p50 ${fmt.ms(mesh.result.p50)}, p99 ${fmt.ms(mesh.result.p99)}; CPU: ${cpuSummary(mesh.cores, (c) => perRequest(c, mesh.result.rps))}, load generator ${pct(mesh.self)}, whole machine ${mesh.machine === undefined ? "?" : pct(mesh.machine)}`,
    );

    log(`geomesh load cities (updates: the sample data is in) and synthetic:${loadPlaces}…`);
    const cities = await timedLoad(cluster.configPath, "cities");
    const fresh = await timedLoad(cluster.configPath, `synthetic:${loadPlaces}:${LOAD_SEED}`);
    const citiesCount = Number(
      /read ([\d,]+) rows/.exec(cities.summary)?.[1]?.replace(/,/g, "") ?? NaN,
    );
    log(
      `load: cities ${cities.summary} in ${cities.seconds.toFixed(1)} s; synthetic ${fresh.summary} in ${fresh.seconds.toFixed(1)} s`,
    );

    const g = mesh.result;
    const b = base.result;
    const clean = problems(g) === 0 && problems(b) === 0;
    const ratio = g.rps / b.rps;
    const total = (l: Load) => (l.ok + l.non2xx).toLocaleString("en-US");
    return {
      name: "e2e",
      title:
        "End-to-end: GET /v1/places/near through the cluster vs. a bare Fastify route in-process",
      rows: [
        {
          metric: `throughput (${CONNECTIONS} connections, ${seconds} s, 200s only)`,
          value: fmt.rate(g.rps),
          baseline: fmt.rate(b.rps),
          ratio,
          target: `≥ ${TARGET}×`,
          pass: clean && ratio >= TARGET,
        },
        {
          metric: `latency p50 (${CONNECTIONS} connections)`,
          value: fmt.ms(g.p50),
          baseline: fmt.ms(b.p50),
          ratio: g.p50 / b.p50,
        },
        {
          metric: `latency p99 (${CONNECTIONS} connections)`,
          value: fmt.ms(g.p99),
          baseline: fmt.ms(b.p99),
          ratio: g.p99 / b.p99,
          target: `≤ ${P99_TARGET}×`,
          pass: g.p99 / b.p99 <= P99_TARGET,
        },
        {
          metric:
            "CPU per request, all server processes (gateway + brokers + workers vs. baseline)",
          value: perRequest(coresOf(mesh.cores), g.rps).replace("/req", ""),
          baseline: perRequest(coresOf(base.cores), b.rps).replace("/req", ""),
          ratio: coresOf(mesh.cores) / g.rps / (coresOf(base.cores) / b.rps),
        },
        {
          metric: `\`geomesh load cities\` through the brokers (${Number.isNaN(citiesCount) ? "?" : citiesCount.toLocaleString("en-US")} places, all updates), wall time incl. CLI start`,
          value: `${fmt.rate(citiesCount / cities.seconds).replace("/s", "")} places/s`,
        },
        {
          metric: `\`geomesh load synthetic:${loadPlaces.toLocaleString("en-US")}\` through the brokers (new places), wall time incl. CLI start`,
          value: `${fmt.rate(loadPlaces / fresh.seconds).replace("/s", "")} places/s`,
        },
        {
          metric: "responses other than 200, socket errors and timeouts",
          value: `${problems(g).toLocaleString("en-US")} of ${total(g)}`,
          baseline: `${problems(b).toLocaleString("en-US")} of ${total(b)}`,
          target: "0",
          pass: clean,
        },
        {
          metric: `same ids in the same order for ${SANITY_POINTS} sample points (before the load)`,
          value: `${sanity.same}/${SANITY_POINTS}`,
          target: `${SANITY_POINTS}/${SANITY_POINTS}`,
          pass: sanity.same === SANITY_POINTS,
        },
      ],
      notes: [
        `Cluster: \`geomesh up\` as \`npm start\` runs it (5 brokers, ${cluster.workersPerRegion} worker${cluster.workersPerRegion === 1 ? "" : "s"} per region at concurrency 4, the gateway; each its own process), with its bundled sample data loaded on first run (${cluster.loaded.map((l) => l.replace(/^(\w+): read [\d,]+ rows: ([\d,]+) accepted.*$/, "$2 $1")).join(" + ")}) and the gateway's rate limit off (\`gateway.rateLimit.max: 0\`). Each request: gateway → coordinator → \`geo.near@<region>\` over ZeroMQ to the owning region's broker → a worker → the embedded store, and to the neighbouring regions when the k-th hit is close to a border.`,
        `Baseline: a bare Fastify app in its own process, one route \`GET /near\` running the same \`Coordinator\` with \`executeLeaf\` on \`EmbeddedGeoStore\`s opened on the cluster's SQLite files (same data, same GeoJSON; ${sanity.identicalBodies}/${SANITY_POINTS} sample bodies byte-identical).`,
        `Load: autocannon in the benchmark process, ${CONNECTIONS} keep-alive connections with one request in flight each, ${seconds} s after a ${warmup} s warm-up, baseline first, then the cluster (idle while the baseline runs); ${POINTS} query points (US cities drawn with seed ${POINT_SEED}, nudged ≤ 0.05°), \`limit=${LIMIT}\`, each connection cycling through them from its own offset. Latency is per request under that load (autocannon's response times, 200s only).`,
        `Where the time goes (CPU of each side's processes during its measured run; 100 % = one core): cluster ${pct(coresOf(mesh.cores))} = ${perRequest(coresOf(mesh.cores), g.rps)} — ${cpuSummary(mesh.cores, (c) => perRequest(c, g.rps))}; baseline ${pct(coresOf(base.cores))} = ${perRequest(coresOf(base.cores), b.rps)}. Load generator ${pct(mesh.self)} / ${pct(base.self)}; whole machine ${mesh.machine === undefined ? "?" : pct(mesh.machine)} / ${base.machine === undefined ? "?" : pct(base.machine)} of ${pct(cpus().length)} (load average ${loadBefore.toFixed(1)} before the run). A query makes ${leavesPerQuery.toFixed(2)} leaf calls on average (the coordinator asks a neighbouring region when the k-th hit is close to a border); in the cluster each is a broker round trip. Throughput ratio ${ratio.toFixed(3)}.`,
        ...(clean
          ? []
          : [
              `**The run had failed requests** — cluster: ${describeProblems(g) || "none"}; baseline: ${describeProblems(b) || "none"}. Throughput counts 200s only, and the target is not met with errors.`,
            ]),
        ...(sanity.mismatches.length > 0
          ? [`**Different answers** for: ${sanity.mismatches.slice(0, 3).join("; ")}.`]
          : []),
        `All processes — ${members.length} in the cluster's process group (\`up\`, 5 brokers, 10 workers, the gateway, tsx's esbuild), 1 for the baseline, and the load generator — share the same 2 cores with whatever else runs on this machine, so the ratio is the claim, not the absolute rates.`,
      ],
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}
