import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { freePorts } from "@geomesh/protocol/testing";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterConfigInput } from "@geomesh/config";

/** The `geomesh` executable (runs the TypeScript sources through tsx). */
export const GEOMESH_BIN = fileURLToPath(new URL("../../bin/geomesh.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns `geomesh …`; stdout and stderr are collected, JSON log lines included. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [GEOMESH_BIN, ...args], {
    env: { ...process.env, VITEST: "", GEOMESH_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs `geomesh …` to completion (killed after `timeoutMs`). */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Resolves once the child prints a line matching `pattern` (or rejects when it exits). */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; got: ${seen}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split("\n").find((l) => pattern.test(l));
      if (line !== undefined) {
        cleanup();
        resolve(line);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${pattern}; got: ${seen}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", onExit);
  });
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Writes a cluster config with the given regions on free loopback ports; returns its path. */
export async function writeTestConfig(
  dir: string,
  regions: readonly { name: string; states: string[] }[],
  extra: Partial<ClusterConfigInput> = {},
): Promise<{ path: string; input: ClusterConfigInput }> {
  // Distinct ports for every endpoint of every region.
  const ports = await freePorts(regions.length * 5);
  const ep = (): Promise<string> => Promise.resolve(`tcp://127.0.0.1:${ports.pop()!}`);
  const regionInputs: ClusterConfigInput["regions"] = [];
  for (const r of regions)
    regionInputs.push({
      name: r.name,
      polygon: { states: r.states },
      endpoints: {
        frontend: await ep(),
        backend: await ep(),
        cloud: await ep(),
        state: await ep(),
        events: await ep(),
      },
      store: `sqlite:${join(dir, `${r.name.toLowerCase()}.sqlite`)}`,
      workers: 1,
    });
  const input: ClusterConfigInput = {
    regions: regionInputs,
    heartbeat: { intervalMs: 200, liveness: 3 },
    dataDir: join(dir, "data"),
    ...extra,
  };
  const path = join(dir, "geomesh.config.json");
  writeFileSync(path, `${JSON.stringify(input, null, 2)}\n`);
  return { path, input };
}
