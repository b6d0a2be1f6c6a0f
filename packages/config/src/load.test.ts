import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  defaultClusterConfig,
  defaultClusterInput,
  findRegion,
  loadClusterConfig,
  parseClusterConfig,
} from "./load.js";
import { defaultWorkersPerRegion } from "./defaults.js";

describe("cluster config", () => {
  it("builds the five default US regions on distinct loopback ports", () => {
    const cfg = defaultClusterConfig();
    expect(cfg.regions.map((r) => r.name)).toEqual(["NE", "South", "MW", "SW", "CA"]);
    const eps = cfg.regions.flatMap((r) => Object.values(r.endpoints));
    expect(new Set(eps).size).toBe(25);
    expect(cfg.heartbeat).toEqual({ intervalMs: 1000, liveness: 3 });
    expect(findRegion(cfg, "ne").name).toBe("NE");
  });

  it("starts one worker per region below 4 cores, two from 4 up (unless told)", () => {
    expect([1, 2, 3, 4, 8, 64].map((n) => defaultWorkersPerRegion(n))).toEqual([1, 1, 1, 2, 2, 2]);
    expect(defaultClusterInput().regions.map((r) => r.workers)).toEqual(
      new Array<number>(5).fill(defaultWorkersPerRegion()),
    );
    expect(defaultClusterInput({ workersPerRegion: 3 }).regions[0]!.workers).toBe(3);
  });

  it("names the bad field when a value is wrong", () => {
    const input = defaultClusterInput();
    (input.regions[1]!.endpoints as { frontend: string }).frontend = "http://nope";
    expect(() => parseClusterConfig(input)).toThrow(
      /regions\[1\]\.endpoints\.frontend: must be tcp/,
    );
  });

  it("rejects unknown fields, duplicate names and reused endpoints", () => {
    expect(() => parseClusterConfig({ ...defaultClusterInput(), colour: "red" })).toThrow(/colour/);
    const dup = defaultClusterInput();
    dup.regions[2]!.name = "ne";
    expect(() => parseClusterConfig(dup)).toThrow(/regions\[2\]\.name: duplicate region name/);
    const reuse = defaultClusterInput();
    reuse.regions[3]!.endpoints.state = reuse.regions[0]!.endpoints.frontend;
    expect(() => parseClusterConfig(reuse)).toThrow(/already used by NE\.frontend/);
  });

  it("reads JSON and YAML files and reports unparseable ones", () => {
    const dir = mkdtempSync(join(tmpdir(), "geomesh-cfg-"));
    writeFileSync(join(dir, "a.json"), JSON.stringify(defaultClusterInput({ basePort: 9000 })));
    expect(
      loadClusterConfig({ path: "a.json", cwd: dir }).config.regions[0]!.endpoints.frontend,
    ).toBe("tcp://127.0.0.1:9000");
    writeFileSync(join(dir, "b.yaml"), "regions: []\n");
    expect(() => loadClusterConfig({ path: "b.yaml", cwd: dir })).toThrow(/regions: Too small/i);
    writeFileSync(join(dir, "c.json"), "{nope");
    expect(() => loadClusterConfig({ path: "c.json", cwd: dir })).toThrow(/not valid JSON/);
    expect(loadClusterConfig({ cwd: dir, env: {} }).source).toBe("built-in default");
    expect(loadClusterConfig({ cwd: dir, env: { GEOMESH_CONFIG: "a.json" } }).source).toContain(
      "a.json",
    );
  });
});
