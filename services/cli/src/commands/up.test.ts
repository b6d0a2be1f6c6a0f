import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortRange } from "@geomesh/protocol/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  runCli,
  spawnCli,
  stopChild,
  waitForOutput,
  writeTestConfig,
} from "../testing/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "geomesh-up-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("geomesh up with --config", () => {
  it("refuses --base-port, whose layout the file replaces, with a message naming the flag", async () => {
    const { path } = await writeTestConfig(dir, [{ name: "NE", states: ["NY"] }]);
    const res = await runCli(["--config", path, "up", "--base-port", "9000", "--no-sample-data"]);
    expect(res.code).not.toBe(0);
    expect(res.stderr + res.stdout).toMatch(/--base-port/);
  });

  it("takes --gateway-port and --gateways over the file's gateway port", async () => {
    mkdirSync(join(dir, "b"));
    const { path } = await writeTestConfig(join(dir, "b"), [{ name: "NE", states: ["NY"] }]);
    const port = await freePortRange(2);
    const child = spawnCli([
      "--config",
      path,
      "up",
      "--workers",
      "0",
      "--no-sample-data",
      "--gateway-port",
      String(port),
      "--gateways",
      "2",
    ]);
    let out = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    try {
      await waitForOutput(child, /Press Ctrl-C to stop/, 90_000);
      expect(out).toContain(`HTTP API: http://127.0.0.1:${port}/v1/places/near`);
      expect(out).toContain(`HTTP API: http://127.0.0.1:${port + 1}/v1/places/near`);
      for (const p of [port, port + 1])
        expect((await fetch(`http://127.0.0.1:${p}/healthz`)).status).toBe(200);
    } finally {
      await stopChild(child, 20_000);
    }
  }, 120_000);

  it("stops every child on SIGTERM even when the signal comes twice at once (npm and a shell forward it)", async () => {
    mkdirSync(join(dir, "c"));
    const { path } = await writeTestConfig(join(dir, "c"), [{ name: "NE", states: ["NY"] }]);
    const port = await freePortRange(1);
    const child = spawnCli([
      "--config",
      path,
      "up",
      "--workers",
      "1",
      "--no-sample-data",
      "--gateway-port",
      String(port),
    ]);
    let out = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    let children: number[] = [];
    try {
      await waitForOutput(child, /Press Ctrl-C to stop/, 90_000);
      children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .map(Number);
      expect(children.length).toBe(3); // broker, worker, gateway
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(out).toMatch(/stopped\./);
      const alive = children.filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      expect(alive).toEqual([]);
    } finally {
      await stopChild(child, 20_000);
      // Whatever a failed run left behind.
      for (const pid of children) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }, 120_000);
});
