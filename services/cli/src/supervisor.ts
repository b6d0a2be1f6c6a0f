import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "@geomesh/logger";

const BIN = fileURLToPath(new URL("../bin/geomesh.js", import.meta.url));

export interface ChildSpec {
  /** Unique name, e.g. `broker-NE`, `worker-NE-1`; also the log file name. */
  readonly name: string;
  readonly args: readonly string[];
  /** Started in waves: lower first (brokers before workers). */
  readonly wave: number;
}

interface Managed {
  readonly spec: ChildSpec;
  child: ChildProcess | undefined;
  restarts: number[];
  log: WriteStream;
}

/**
 * Runs geomesh processes on this machine, each writing JSON logs to `<logDir>/<name>.log`.
 * A child that dies unexpectedly is restarted after 1 s (at most 5 times a minute); `stop()`
 * sends SIGTERM in reverse wave order and waits for each wave to exit.
 */
export class Supervisor {
  private readonly managed: Managed[] = [];
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly log: Logger,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  async start(specs: readonly ChildSpec[], readyWithin = 120_000): Promise<void> {
    const waves = [...new Set(specs.map((s) => s.wave))].sort((a, b) => a - b);
    for (const wave of waves) {
      const batch = specs.filter((s) => s.wave === wave).map((spec) => this.launch(spec));
      await Promise.all(batch.map((m) => this.waitReady(m, readyWithin)));
    }
  }

  /** Names and pids of the running children. */
  list(): { name: string; pid: number | undefined; alive: boolean }[] {
    return this.managed.map((m) => ({
      name: m.spec.name,
      pid: m.child?.pid,
      alive: !!m.child && m.child.exitCode === null && m.child.signalCode === null,
    }));
  }

  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    const waves = [...new Set(this.managed.map((m) => m.spec.wave))].sort((a, b) => b - a);
    for (const wave of waves) {
      await Promise.all(
        this.managed
          .filter((m) => m.spec.wave === wave)
          .map((m) => this.terminate(m, drainMs + 5000)),
      );
    }
    for (const m of this.managed) m.log.end();
  }

  /** Kills every child at once (SIGKILL), for a forced exit. */
  kill(): void {
    this.stopping = true;
    for (const m of this.managed) {
      const child = m.child;
      if (running(child)) child.kill("SIGKILL");
    }
  }

  private launch(spec: ChildSpec): Managed {
    const m: Managed = {
      spec,
      child: undefined,
      restarts: [],
      log: createWriteStream(join(this.logDir, `${spec.name}.log`), { flags: "a" }),
    };
    this.managed.push(m);
    this.spawnChild(m);
    return m;
  }

  private spawnChild(m: Managed): void {
    const child = spawn(process.execPath, [BIN, ...m.spec.args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: process.env,
    });
    m.child = child;
    child.stdout.pipe(m.log, { end: false });
    child.stderr.pipe(m.log, { end: false });
    child.on("exit", (code, signal) => {
      if (this.stopping) return;
      const now = Date.now();
      m.restarts = m.restarts.filter((t) => now - t < 60_000);
      if (m.restarts.length >= 5) {
        this.log.error(
          { child: m.spec.name, code, signal },
          "child keeps dying; not restarting it",
        );
        return;
      }
      m.restarts.push(now);
      this.log.warn({ child: m.spec.name, code, signal }, "child exited; restarting in 1 s");
      setTimeout(() => {
        if (!this.stopping) this.spawnChild(m);
      }, 1000);
    });
  }

  /** Resolves when the child logs that it is ready (brokers: started; workers: registered). */
  private waitReady(m: Managed, timeoutMs: number): Promise<void> {
    const child = m.child!;
    return new Promise((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${m.spec.name} not ready within ${timeoutMs} ms (see ${this.logDir}/${m.spec.name}.log)`,
            ),
          ),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        buf = (buf + chunk.toString()).slice(-8192);
        if (/"msg":"(broker started|worker registered|gateway listening)"/.test(buf)) {
          clearTimeout(timer);
          child.stdout!.off("data", onData);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${m.spec.name} exited with code ${code} during start-up (see ${this.logDir}/${m.spec.name}.log)`,
          ),
        );
      });
    });
  }

  private terminate(m: Managed, killAfterMs: number): Promise<void> {
    const child = m.child;
    if (!running(child)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}

/** Whether a child was spawned and has not exited yet. */
function running(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}
