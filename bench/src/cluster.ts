/**
 * The five-region cluster as `npm start` starts it (`geomesh up`, each broker, worker and gateway
 * its own process) for the scenarios that measure it from outside, and what they need around it:
 * a process group to kill on the way out, and the CPU each member used while a load ran.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { defaultClusterInput, defaultWorkersPerRegion } from "@geomesh/config";
import { GEOMESH_BIN, freePortRange } from "./processes.js";

/** How long `up` may take to start (and load the sample data on first run, if asked to). */
const UP_TIMEOUT_MS = 300_000;
/** After SIGTERM, how long `up` gets to stop its children before the whole group is killed. */
const STOP_GRACE_MS = 25_000;
/** Linux reports /proc CPU times in USER_HZ, fixed at 100 on every architecture Node runs on. */
const USER_HZ = 100;
/** The default layout's ports: region i uses base+10i .. base+10i+4 (5 regions). */
const REGION_PORTS = 50;

export interface ClusterOptions {
  /** Gateways on consecutive ports (`up --gateways`; default 1). */
  readonly gateways?: number;
  /** Load the bundled cities and ZIPs and resolve once they are in (default true). */
  readonly sampleData?: boolean;
}

export interface Cluster {
  readonly child: ChildProcess;
  /** `http://host:port` of each gateway, in port order. */
  readonly gateways: readonly string[];
  readonly configPath: string;
  /** Workers per region (`up`'s default for this machine: `defaultWorkersPerRegion()`). */
  readonly workersPerRegion: number;
  /** `up`'s load summary lines ("cities: read … rows: … accepted, … rejected"); empty without sample data. */
  readonly loaded: string[];
}

/**
 * `geomesh up` with its own process group (so a stuck child can be killed with it), on checked
 * free loopback ports and with the gateway's per-IP rate limit off (the benchmark is one client
 * address); resolved once every process is ready and, with sample data, once it is loaded.
 */
export async function startCluster(
  dir: string,
  log: (line: string) => void,
  options: ClusterOptions = {},
): Promise<Cluster> {
  const gateways = options.gateways ?? 1;
  const sampleData = options.sampleData ?? true;
  // One free range for everything: the regions' ports, then the gateways' right after them.
  const basePort = await freePortRange(REGION_PORTS + gateways);
  const gatewayPort = basePort + REGION_PORTS;
  const input = defaultClusterInput({ dataDir: dir, basePort, gatewayPort });
  // max 0 turns the gateway's per-IP rate limit off: the benchmark is one client address.
  input.gateway = { ...input.gateway, rateLimit: { max: 0, windowMs: 60_000 } };
  const inputPath = join(dir, "bench.config.json");
  writeFileSync(inputPath, JSON.stringify(input, null, 2));
  // `up --config` takes the ports from the file (it refuses --base-port there, and the gateway
  // port is in the file already); its gateways listen on that port and the ones after it.
  const child = spawn(
    process.execPath,
    [
      GEOMESH_BIN,
      "--config",
      inputPath,
      "--drain-ms",
      "2000",
      "up",
      "--data-dir",
      dir,
      "--gateways",
      String(gateways),
      ...(sampleData ? [] : ["--no-sample-data"]),
    ],
    {
      detached: true,
      env: { ...process.env, GEOMESH_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  log(
    `geomesh up (pid ${child.pid}): brokers from port ${basePort}, ${gateways === 1 ? `gateway on ${gatewayPort}` : `gateways on ${gatewayPort}–${gatewayPort + gateways - 1}`}, data in ${dir}`,
  );
  const readyLine = sampleData ? "Sample data loaded" : "Press Ctrl-C to stop.";
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
      () =>
        fail(
          `was not ready${sampleData ? " with its sample data" : ""} within ${UP_TIMEOUT_MS} ms`,
        ),
      UP_TIMEOUT_MS,
    );
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      fail(`exited during start-up (code ${code}, signal ${signal})`);
    };
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes(readyLine)) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout.off("data", onData);
      child.stdout.resume(); // keep draining so the pipe never fills
      const urls = [...out.matchAll(/HTTP API: (http:\/\/[^/\s]+)/g)].map((m) => m[1]!);
      if (urls.length !== gateways)
        return fail(`printed ${urls.length} HTTP API lines for ${gateways} gateways`);
      resolve({
        child,
        gateways: urls,
        configPath: join(dir, "geomesh.cluster.json"),
        workersPerRegion: input.regions[0]!.workers ?? defaultWorkersPerRegion(),
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
export function errorLogLines(logDir: string): string {
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
export async function stopGroup(child: ChildProcess): Promise<void> {
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

export interface Member {
  readonly pid: number;
  /** broker-NE, worker-NE, gateway, up, … */
  readonly role: string;
}

/** The processes of a process group, named by their geomesh command (Linux /proc only). */
export function groupMembers(pgid: number): Member[] {
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

export interface ProcessCpu {
  readonly role: string;
  readonly cores: number;
}

/** CPU used while `fn` runs: per watched process and this process, in cores (1 = one core busy). */
export async function withCpu<T>(
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

/** CPU as a share of one core: "39 %". */
export const pct = (cores: number) => `${Math.round(cores * 100)} %`;

/** Total CPU of the watched processes, in cores. */
export const coresOf = (cores: readonly ProcessCpu[]) => cores.reduce((a, c) => a + c.cores, 0);

/**
 * "gateway 39 % (0.79 ms/req), brokers 49 % (5 processes, 1.00 ms/req), …": CPU per role
 * (brokers, workers and gateways summed), each with what `per` makes of it (e.g. per request).
 */
export function cpuSummary(cores: readonly ProcessCpu[], per: (cores: number) => string): string {
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
        `${n > 1 && kind === "gateway" ? "gateways" : kind} ${pct(sum)} (${n > 1 ? `${n} processes, ` : ""}${per(sum)})`,
    )
    .join(", ");
}
