import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClusterConfigInput, defaultClusterInput } from "@geomesh/config";
import { freePortRange } from "@geomesh/protocol/testing";

export { freeEndpoint, freePort, freePortRange } from "@geomesh/protocol/testing";

/**
 * Writes `geomesh.config.json` into `dir` for a test cluster: the default five regions on a
 * checked free port range, stores and data under `dir`, the given heartbeat, and the gateway's
 * rate limit off (tests are one client address). `edit` may change the input before it is written.
 */
export async function writeClusterConfig(
  dir: string,
  options: {
    readonly heartbeat: { intervalMs: number; liveness: number };
    readonly workersPerRegion?: number;
    readonly gatewayPort?: number;
    readonly edit?: (input: ClusterConfigInput) => ClusterConfigInput;
  },
): Promise<{ path: string; input: ClusterConfigInput }> {
  const base = defaultClusterInput({
    dataDir: dir,
    basePort: await freePortRange(50),
    workersPerRegion: options.workersPerRegion ?? 1,
    ...(options.gatewayPort === undefined ? {} : { gatewayPort: options.gatewayPort }),
  });
  const withDefaults: ClusterConfigInput = {
    ...base,
    heartbeat: options.heartbeat,
    gateway: { ...base.gateway, rateLimit: { max: 0, windowMs: 60_000 } },
  };
  const input = options.edit ? options.edit(withDefaults) : withDefaults;
  const path = join(dir, "geomesh.config.json");
  writeFileSync(path, JSON.stringify(input));
  return { path, input };
}

export const GEOMESH_BIN = fileURLToPath(
  new URL("../../../services/cli/bin/geomesh.js", import.meta.url),
);

export interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

/** A `geomesh …` child process whose JSON log lines are collected. */
export class GeomeshProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [GEOMESH_BIN, ...args], {
      env: { ...process.env, GEOMESH_LOG_LEVEL: "debug", VITEST: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buffer = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    this.child.stderr!.on("data", (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for a log line whose `msg` matches. */
  async waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<LogLine> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => typeof l.msg === "string" && pattern.test(l.msg));
      if (hit) return hit;
      if (!this.alive)
        throw new Error(
          `process exited before logging ${pattern}; stderr: ${this.stderr.join("")}`,
        );
      if (Date.now() > until)
        throw new Error(
          `no log line ${pattern} within ${timeoutMs} ms; got: ${this.lines.map((l) => l.msg).join(" | ")}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.alive) this.child.kill(signal);
  }

  /** SIGKILL if still running, and wait for the exit. */
  async destroy(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
  }
}

/** Processes whose parent is `pid`, with their command lines (Linux /proc). */
export function childrenOf(pid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== pid) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      out.push({ pid: Number(entry), cmd });
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
