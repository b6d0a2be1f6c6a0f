import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedGeoStore } from "./embedded-geo-store.js";

const fixture = fileURLToPath(new URL("./fixtures/writer-process.ts", import.meta.url));
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "geomesh-embedded-mp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writer(
  file: string,
  prefix: string,
  batches: number,
  size: number,
  startAt: number,
): ChildProcess {
  return spawn(
    process.execPath,
    ["--import", "tsx", fixture, file, prefix, String(batches), String(size), String(startAt)],
    {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

function finished(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

function summary(stdout: string): { written: number; startedAt: number; endedAt: number } {
  const line = stdout.trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(line) as { written: number; startedAt: number; endedAt: number };
}

describe("one store file shared by several processes", () => {
  it("lets two processes write and read the same file concurrently without losing a write", async () => {
    const file = join(dir, "shared.sqlite");
    const startAt = Date.now() + 2500;
    const a = finished(writer(file, "alpha", 40, 25, startAt));
    const b = finished(writer(file, "beta", 40, 25, startAt));
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.stderr, "alpha stderr").toBe("");
    expect(rb.stderr, "beta stderr").toBe("");
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    const sa = summary(ra.stdout);
    const sb = summary(rb.stdout);
    // The two write phases overlapped in time: this was concurrent, not one after the other.
    expect(Math.max(sa.startedAt, sb.startedAt)).toBeLessThan(Math.min(sa.endedAt, sb.endedAt));
    const store = new EmbeddedGeoStore({ path: file, region: "MP" });
    await store.init();
    expect((await store.stats()).count).toBe(2000);
    expect(await store.get("alpha-000999")).toMatchObject({ category: "alpha" });
    expect(await store.get("beta-000000")).toMatchObject({ category: "beta" });
    await store.close();
  }, 60_000);

  it("keeps every acknowledged write when the writing process is killed mid-stream", async () => {
    const file = join(dir, "killed.sqlite");
    const child = writer(file, "k", 10_000, 5, 0);
    const done = finished(child);
    const acked = await new Promise<number>((resolve) => {
      let last = 0;
      child.on("close", () => resolve(last));
      child.stdout?.on("data", (d: Buffer) => {
        for (const m of d.toString().matchAll(/acked (\d+)/g)) last = Number(m[1]);
        if (last >= 200) {
          child.kill("SIGKILL");
          resolve(last);
        }
      });
    });
    const exit = await done;
    expect(exit.signal, exit.stderr).toBe("SIGKILL");
    expect(acked).toBeGreaterThanOrEqual(200);
    const db = new Database(file);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
    const store = new EmbeddedGeoStore({ path: file, region: "MP" });
    await store.init();
    const count = (await store.stats()).count;
    expect(count).toBeGreaterThanOrEqual(acked);
    for (let n = 0; n < acked; n += 37)
      expect(await store.get(`k-${String(n).padStart(6, "0")}`)).toBeDefined();
    await store.close();
  }, 60_000);
});
