/**
 * Five region brokers as separate processes on loopback, two workers per region: a client at
 * any broker reaches every region, skewed load spreads to idle peers, and killing a broker and
 * a worker with -9 under load loses no request and answers none twice.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultClusterInput } from "@geomesh/config";
import { Client } from "@geomesh/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GeomeshProcess, freePortRange } from "./helpers/processes.js";

const HB = { intervalMs: 200, liveness: 3 };
const REGIONS = ["NE", "South", "MW", "SW", "CA"];
const procs = new Map<string, GeomeshProcess>();
const clients: Client[] = [];
let config = "";
let frontends: Record<string, string> = {};

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "geomesh-five-"));
  const input = defaultClusterInput({
    dataDir: dir,
    basePort: await freePortRange(50),
    workersPerRegion: 2,
  });
  config = join(dir, "geomesh.config.json");
  writeFileSync(config, JSON.stringify({ ...input, heartbeat: HB }));
  frontends = Object.fromEntries(input.regions.map((r) => [r.name, r.endpoints.frontend]));
  for (const region of REGIONS)
    procs.set(
      `broker-${region}`,
      new GeomeshProcess(["--config", config, "broker", "--region", region]),
    );
  await Promise.all(REGIONS.map((r) => procs.get(`broker-${r}`)!.waitForLog(/^broker started$/)));
  for (const region of REGIONS) {
    for (const i of [1, 2])
      procs.set(
        `worker-${region}-${i}`,
        new GeomeshProcess([
          "--config",
          config,
          "worker",
          "--region",
          region,
          "--test-services",
          "--concurrency",
          "2",
        ]),
      );
  }
  await Promise.all(
    [...procs.entries()]
      .filter(([k]) => k.startsWith("worker"))
      .map(([, p]) => p.waitForLog(/^worker registered$/, 90_000)),
  );
  // Every broker hears every peer on the state flow.
  const probe = new Client({ endpoint: frontends.NE!, heartbeat: HB });
  for (let i = 0; i < 100; i++) {
    const status = JSON.parse((await probe.request("broker.status", "")).body.toString()) as {
      peers: { alive: boolean }[];
    };
    if (status.peers.every((p) => p.alive)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await probe.close();
}, 180_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  await Promise.all([...procs.values()].map((p) => p.destroy()));
});

function client(region: string): Client {
  const c = new Client({ endpoint: frontends[region]!, heartbeat: HB });
  clients.push(c);
  return c;
}

describe("five brokers as processes", () => {
  it("lets a client at any broker reach every region's workers", async () => {
    const c = client("SW");
    for (const region of REGIONS) {
      const reply = await c.request(`sys.echo@${region}`, region, { timeoutMs: 5000 });
      expect(reply.status, region).toBe(200);
      expect(reply.body.toString()).toBe(region);
    }
  });

  it("spreads load aimed at one region to idle peers", async () => {
    const c = client("MW");
    const before = JSON.parse((await c.request("broker.status", "")).body.toString()) as {
      counters: { overflowOut: number };
    };
    const replies = await Promise.all(
      Array.from({ length: 40 }, () =>
        c.request("sys.sleep", JSON.stringify({ ms: 100 }), { timeoutMs: 10_000 }),
      ),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const after = JSON.parse((await c.request("broker.status", "")).body.toString()) as {
      counters: { overflowOut: number };
    };
    // MW has 2 workers × 2 slots; most of the 40 ran on peers.
    expect(after.counters.overflowOut - before.counters.overflowOut).toBeGreaterThan(20);
  });

  it("cannot deadlock when every worker slot is busy coordinating multi-region requests", async () => {
    // 20 worker slots in the cluster; 300 unqualified geo requests at once, each touching
    // several regions. Coordinators call region stores in-process, never waiting on another
    // slot, so the saturated cluster drains instead of deadlocking.
    const entries = ["NE", "SW"].map((r) => client(r));
    const queries = Array.from({ length: 300 }, (_, i) => {
      const c = entries[i % 2]!;
      return i % 3 === 0
        ? c.request(
            "geo.within",
            JSON.stringify({ circle: { center: [-95, 37], radius: 900_000 }, limit: 5 }),
            { timeoutMs: 30_000 },
          )
        : c.request("geo.near", JSON.stringify({ point: [-100 + (i % 30), 38], limit: 5 }), {
            timeoutMs: 30_000,
          });
    });
    const replies = await Promise.all(queries);
    expect(replies.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  });

  it("loses no request and answers none twice when a broker and a worker are killed with -9 under load", async () => {
    const entry = ["NE", "MW", "SW", "CA"].map((r) => ({ region: r, c: client(r) }));
    const sent: Promise<{ status: number }>[] = [];
    const stop = Date.now() + 3000;
    let killed = false;
    while (Date.now() < stop) {
      for (const { c } of entry)
        sent.push(c.request("sys.sleep", JSON.stringify({ ms: 40 }), { timeoutMs: 20_000 }));
      if (!killed && Date.now() > stop - 2000) {
        killed = true;
        procs.get("broker-South")!.kill("SIGKILL");
        procs.get("worker-NE-1")!.kill("SIGKILL");
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const results = await Promise.allSettled(sent);
    const failed = results.filter((r) => r.status === "rejected");
    const statuses = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.status] : []));
    expect(failed, JSON.stringify(failed.slice(0, 3))).toHaveLength(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(sent.length).toBeGreaterThan(200);
    for (const { c } of entry) expect(c.counters.unexpectedReplies).toBe(0);
  });

  it("keeps serving a dead broker's region through the live brokers", async () => {
    // South's broker was killed above; its store is still reachable by every worker.
    const c = client("NE");
    const reply = await c.request("sys.echo@South", "still served", { timeoutMs: 5000 });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe("still served");
    const near = await c.request(
      "geo.near@South",
      JSON.stringify({ point: [-84.39, 33.75], limit: 1 }),
      { timeoutMs: 5000 },
    );
    expect(near.status).toBe(200);
    const status = JSON.parse((await c.request("broker.status", "")).body.toString()) as {
      peers: { name: string; alive: boolean }[];
    };
    expect(status.peers.find((p) => p.name === "South")?.alive).toBe(false);
  });
});
