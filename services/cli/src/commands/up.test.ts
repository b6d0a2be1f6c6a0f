import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
});
