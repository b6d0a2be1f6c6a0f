/**
 * End-to-end (DESIGN §9): `GET /v1/places/near` through the five-region cluster, started as
 * `npm start` starts it (`geomesh up`: 5 brokers, 10 workers, the gateway, each its own
 * process), against a bare Fastify route in its own process that runs the same query through an
 * in-process `Coordinator` on the same SQLite files. One autocannon load generator in this
 * process drives both the same way: same query points, connections and duration.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { defaultClusterInput } from "@geomesh/config";
import { createPrng, usCities } from "@geomesh/datasets";
import { GEOMESH_BIN, freePort, freePortRange, spawnUntil, stopAll } from "./processes.js";
import { type BenchOptions, type BenchReport, fmt, percentile } from "./report.js";

const CONNECTIONS = 32;
const POINTS = 1000;
const POINT_SEED = 20_241_121;
const LIMIT = 10;
const SANITY_POINTS = 20;
const TARGET = 0.35;
/** How long `up` may take to start and load the sample data on first run. */
const UP_TIMEOUT_MS = 300_000;
/** After SIGTERM, how long `up` gets to stop its children before the whole group is killed. */
const STOP_GRACE_MS = 25_000;
/** Linux reports /proc CPU times in USER_HZ, fixed at 100 on every architecture Node runs on. */
const USER_HZ = 100;

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

interface Cluster {
  readonly child: ChildProcess;
  readonly gateway: string;
  readonly configPath: string;
  /** `up`'s load summary lines ("cities: read … rows: … accepted, … rejected"). */
  readonly loaded: string[];
}

/**
 * `geomesh up` with its own process group (so a stuck child can be killed with it), resolved
 * once the sample data is loaded.
 */
async function startCluster(dir: string, log: (line: string) => void): Promise<Cluster> {
  const basePort = await freePortRange(50);
  const gatewayPort = await freePort();
  const input = defaultClusterInput({ dataDir: dir, basePort, gatewayPort });
  // max 0 turns the gateway's per-IP rate limit off: the benchmark is one client address.
  input.gateway = { ...input.gateway, rateLimit: { max: 0, windowMs: 60_000 } };
  const inputPath = join(dir, "bench.config.json");
  writeFileSync(inputPath, JSON.stringify(input, null, 2));
  // `up --config` takes ports from the file (it ignores --base-port/--gateway-port there).
  const child = spawn(
    process.execPath,
    [GEOMESH_BIN, "--config", inputPath, "--drain-ms", "2000", "up", "--data-dir", dir],
    {
      detached: true,
      env: { ...process.env, GEOMESH_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  log(
    `geomesh up (pid ${child.pid}): brokers from port ${basePort}, gateway on ${gatewayPort}, data in ${dir}`,
  );
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-4000);
  });
  const cluster = new Promise<Cluster>((resolve, reject) => {
    const fail = (why: string) =>
      reject(
        new Error(
          `geomesh up ${why}\n--- its output ---\n${out.slice(-3000)}\n--- stderr ---\n${err}${errorLogLines(join(dir, "logs"))}`,
        ),
      );
    const timer = setTimeout(
      () => fail(`did not load its sample data within ${UP_TIMEOUT_MS} ms`),
      UP_TIMEOUT_MS,
    );
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      fail(`exited during start-up (code ${code}, signal ${signal})`);
    };
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes("Sample data loaded")) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout.off("data", onData);
      child.stdout.resume(); // keep draining so the pipe never fills
      const gateway = /HTTP API: (http:\/\/[^/\s]+)/.exec(out)?.[1];
      if (gateway === undefined) return fail("printed no HTTP API line");
      resolve({
        child,
        gateway,
        configPath: join(dir, "geomesh.cluster.json"),
        loaded: out.split("\n").filter((l) => /^(cities|zips): /.test(l)),
      });
    };
    child.stdout.on("data", onData);
    child.once("exit", onExit);
  });
  try {
    return await cluster;
  } catch (error) {
    await stopGroup(child);
    throw error;
  }
}

/** Error and fatal lines from the children's logs (the temp dir is removed after a failure too). */
function errorLogLines(logDir: string): string {
  if (!existsSync(logDir)) return "";
  const lines: string[] = [];
  for (const file of readdirSync(logDir)) {
    const bad = readFileSync(join(logDir, file), "utf8")
      .split("\n")
      .filter((l) => /"level":(50|60)/.test(l));
    lines.push(...bad.slice(-3).map((l) => `${file}: ${l.slice(0, 500)}`));
  }
  return lines.length > 0 ? `\n--- errors in the children's logs ---\n${lines.join("\n")}` : "";
}

/** SIGTERM to `up` (it stops its children gracefully); SIGKILL to its group after a grace period. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    child.kill("SIGTERM");
    if (!(await exited)) killGroup(pid);
  }
  // Anything of the group left behind (a child `up` could not stop): the group still exists, so
  // its id cannot have been reused.
  if (groupMembers(pid).length > 0) killGroup(pid);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

interface ProcStat {
  readonly pgrp: number;
  readonly ticks: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state ppid pgrp … utime(14) stime(15), counting from 1 overall.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

interface Member {
  readonly pid: number;
  /** broker-NE, worker-NE, gateway, up, … */
  readonly role: string;
}

/** The processes of a process group, named by their geomesh command (Linux /proc only). */
function groupMembers(pgid: number): Member[] {
  if (!existsSync("/proc")) return [];
  const out: Member[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (procStat(pid)?.pgrp !== pgid) continue;
    let args: string[] = [];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const i = args.findIndex((a) => ["up", "broker", "worker", "gateway"].includes(a));
    const cmd = args[i] ?? (args[0] ?? "?").split("/").pop()!;
    const region = args[args.indexOf("--region") + 1];
    out.push({ pid, role: cmd === "broker" || cmd === "worker" ? `${cmd}-${region}` : cmd });
  }
  return out;
}

/** Machine-wide busy and total jiffies from /proc/stat (all cores). */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1);
    const n = cpu.map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

interface ProcessCpu {
  readonly role: string;
  readonly cores: number;
}

/** CPU used while `fn` runs: per watched process and this process, in cores (1 = one core busy). */
async function withCpu<T>(
  pids: readonly Member[],
  fn: () => Promise<T>,
): Promise<{ result: T; cores: ProcessCpu[]; self: number; machine: number | undefined }> {
  const before = new Map(pids.map((m) => [m.pid, procStat(m.pid)?.ticks]));
  const selfBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const self = process.cpuUsage(selfBefore);
  const machineAfter = machineTicks();
  const cores: ProcessCpu[] = [];
  for (const m of pids) {
    const a = before.get(m.pid);
    const b = procStat(m.pid)?.ticks;
    if (a === undefined || b === undefined) continue;
    cores.push({ role: m.role, cores: (b - a) / USER_HZ / seconds });
  }
  const machine =
    machineBefore && machineAfter
      ? ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) *
        cpus().length
      : undefined;
  return { result, cores, self: (self.user + self.system) / 1e6 / seconds, machine };
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

const pct = (cores: number) => `${Math.round(cores * 100)} %`;

/** Total CPU of the watched processes, in cores. */
const coresOf = (cores: readonly ProcessCpu[]) => cores.reduce((a, c) => a + c.cores, 0);

/**
 * "gateway 39 % (0.79 ms/req), brokers 49 % (5 processes, 1.00 ms/req), …": CPU per role
 * (brokers and workers summed) and what that is per request served.
 */
function cpuSummary(cores: readonly ProcessCpu[], rps: number): string {
  const groups = new Map<string, number[]>();
  for (const { role, cores: c } of cores) {
    const kind = role.startsWith("broker-")
      ? "brokers"
      : role.startsWith("worker-")
        ? "workers"
        : role === "up"
          ? "`up` supervisor"
          : role;
    groups.set(kind, [...(groups.get(kind) ?? []), c]);
  }
  return [...groups]
    .map(([kind, cs]) => [kind, cs.length, cs.reduce((a, b) => a + b, 0)] as const)
    .filter(([, , sum]) => sum >= 0.01)
    .sort((x, y) => y[2] - x[2])
    .map(
      ([kind, n, sum]) =>
        `${kind} ${pct(sum)} (${n > 1 ? `${n} processes, ` : ""}${perRequest(sum, rps)})`,
    )
    .join(", ");
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

export async function run({ quick, log }: BenchOptions): Promise<BenchReport> {
  const seconds = quick ? 3 : 10;
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

    const sanity = await sameAnswers(cluster.gateway, baselineUrl, queries.slice(0, SANITY_POINTS));
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
      `baseline: ${fmt.rate(base.result.rps)}, p50 ${fmt.ms(base.result.p50)}, p99 ${fmt.ms(base.result.p99)}; CPU: ${cpuSummary(base.cores, base.result.rps)}, load generator ${pct(base.self)}, whole machine ${base.machine === undefined ? "?" : pct(base.machine)}`,
    );

    log(`cluster: warm-up ${warmup} s, then ${seconds} s at ${CONNECTIONS} connections…`);
    await drive(cluster.gateway, "/v1/places/near", queries, warmup);
    const mesh = await withCpu(members, () =>
      drive(cluster!.gateway, "/v1/places/near", queries, seconds),
    );
    log(
      `cluster: ${fmt.rate(mesh.result.rps)}, p50 ${fmt.ms(mesh.result.p50)}, p99 ${fmt.ms(mesh.result.p99)}; CPU: ${cpuSummary(mesh.cores, mesh.result.rps)}, load generator ${pct(mesh.self)}, whole machine ${mesh.machine === undefined ? "?" : pct(mesh.machine)}`,
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
        },
        {
          metric:
            "CPU per request, all server processes (gateway + brokers + workers vs. baseline)",
          value: perRequest(coresOf(mesh.cores), g.rps).replace("/req", ""),
          baseline: perRequest(coresOf(base.cores), b.rps).replace("/req", ""),
          ratio: coresOf(mesh.cores) / g.rps / (coresOf(base.cores) / b.rps),
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
        `Cluster: \`geomesh up\` as \`npm start\` runs it (5 brokers, 2 workers per region at concurrency 4, the gateway; each its own process), with its bundled sample data loaded on first run (${cluster.loaded.map((l) => l.replace(/^(\w+): read [\d,]+ rows: ([\d,]+) accepted.*$/, "$2 $1")).join(" + ")}) and the gateway's rate limit off (\`gateway.rateLimit.max: 0\`). Each request: gateway → coordinator → \`geo.near@<region>\` over ZeroMQ to the owning region's broker → a worker → the embedded store, and to the neighbouring regions when the k-th hit is close to a border.`,
        `Baseline: a bare Fastify app in its own process, one route \`GET /near\` running the same \`Coordinator\` with \`executeLeaf\` on \`EmbeddedGeoStore\`s opened on the cluster's SQLite files (same data, same GeoJSON; ${sanity.identicalBodies}/${SANITY_POINTS} sample bodies byte-identical).`,
        `Load: autocannon in the benchmark process, ${CONNECTIONS} keep-alive connections with one request in flight each, ${seconds} s after a ${warmup} s warm-up, baseline first, then the cluster (idle while the baseline runs); ${POINTS} query points (US cities drawn with seed ${POINT_SEED}, nudged ≤ 0.05°), \`limit=${LIMIT}\`, each connection cycling through them from its own offset. Latency is per request under that load (autocannon's response times, 200s only).`,
        `Where the time goes (CPU of each side's processes during its measured run; 100 % = one core): cluster ${pct(coresOf(mesh.cores))} = ${perRequest(coresOf(mesh.cores), g.rps)} — ${cpuSummary(mesh.cores, g.rps)}; baseline ${pct(coresOf(base.cores))} = ${perRequest(coresOf(base.cores), b.rps)}. Load generator ${pct(mesh.self)} / ${pct(base.self)}; whole machine ${mesh.machine === undefined ? "?" : pct(mesh.machine)} / ${base.machine === undefined ? "?" : pct(base.machine)} of ${pct(cpus().length)} (load average ${loadBefore.toFixed(1)} before the run). A query makes ${leavesPerQuery.toFixed(2)} leaf calls on average (the coordinator asks a neighbouring region when the k-th hit is close to a border); in the cluster each is a broker round trip. Throughput ratio ${ratio.toFixed(3)}.`,
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
