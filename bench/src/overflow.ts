/**
 * Overflow (DESIGN §9): five brokers, 2 workers per region each running `sys.sleep` 10 ms one
 * at a time. All load aimed at one region, with overflow on, against the same load spread
 * evenly over the five regions, and against the skewed load with overflow off.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { defaultClusterInput } from "@geomesh/config";
import { Client } from "@geomesh/protocol";
import { GEOMESH_BIN, freePortRange, spawnUntil, stopAll } from "./processes.js";
import { type BenchOptions, type BenchReport, fmt, percentile } from "./report.js";

const REGIONS = ["NE", "South", "MW", "SW", "CA"];
const SLEEP = JSON.stringify({ ms: 10 });

interface Cluster {
  readonly frontends: Record<string, string>;
  readonly children: ChildProcess[];
}

async function startCluster(dir: string, overflow: boolean): Promise<Cluster> {
  const base = await freePortRange(50);
  const input = defaultClusterInput({ dataDir: dir, basePort: base, workersPerRegion: 2 });
  const config = join(dir, `cluster-${overflow ? "on" : "off"}.json`);
  writeFileSync(config, JSON.stringify(input));
  const env = { GEOMESH_LOG_LEVEL: "info" };
  const children: ChildProcess[] = [];
  const brokers = await Promise.all(
    REGIONS.map((r) =>
      spawnUntil(
        [
          GEOMESH_BIN,
          "--config",
          config,
          "broker",
          "--region",
          r,
          ...(overflow ? [] : ["--no-overflow"]),
        ],
        /broker started/,
        env,
      ),
    ),
  );
  children.push(...brokers.map((b) => b.child));
  for (const r of REGIONS) {
    const pair = await Promise.all(
      [1, 2].map(() =>
        spawnUntil(
          [
            GEOMESH_BIN,
            "--config",
            config,
            "worker",
            "--region",
            r,
            "--test-services",
            "--concurrency",
            "1",
          ],
          /worker registered/,
          env,
        ),
      ),
    );
    children.push(...pair.map((w) => w.child));
  }
  await new Promise((r) => setTimeout(r, 2500)); // every broker hears every peer's capacity
  return {
    frontends: Object.fromEntries(input.regions.map((r) => [r.name, r.endpoints.frontend])),
    children,
  };
}

/** Sends `total` sys.sleep requests with `window` in flight per entry broker; returns req/s. */
async function drive(entries: string[], total: number, window: number): Promise<number> {
  const clients = entries.map((endpoint) => new Client({ endpoint }));
  let started = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: window }, async () => {
        while (started < total) {
          started += 1;
          const r = await c.request("sys.sleep", SLEEP, { timeoutMs: 60_000 });
          if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.toString()}`);
        }
      }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(clients.map((c) => c.close()));
  return total / seconds;
}

async function hopLatency(
  frontend: string,
  samples: number,
): Promise<{ local: number; remote: number }> {
  const c = new Client({ endpoint: frontend });
  const measure = async (service: string) => {
    const lat: number[] = [];
    for (let i = 0; i < samples; i++) {
      const s = process.hrtime.bigint();
      await c.request(service, "x");
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    return percentile(
      lat.sort((a, b) => a - b),
      50,
    );
  };
  await measure("sys.echo@ne");
  const local = await measure("sys.echo@ne");
  const remote = await measure("sys.echo@sw");
  await c.close();
  return { local, remote };
}

export async function run({ quick, log }: BenchOptions): Promise<BenchReport> {
  const total = quick ? 600 : 3000;
  const window = 20; // 10 worker slots in the cluster: keep them all busy
  const dir = mkdtempSync(join(tmpdir(), "geomesh-bench-overflow-"));
  try {
    let cluster = await startCluster(dir, true);
    const ne = cluster.frontends.NE!;
    await drive([ne], 200, window); // warm-up
    const skewed = await drive([ne], total, window);
    log(`skewed, overflow on: ${fmt.rate(skewed)}`);
    const even = await drive(
      REGIONS.map((r) => cluster.frontends[r]!),
      total,
      window / 5,
    );
    log(`even: ${fmt.rate(even)}`);
    const hop = await hopLatency(ne, quick ? 300 : 2000);
    log(`p50 local ${fmt.ms(hop.local)}, via a peer ${fmt.ms(hop.remote)}`);
    await stopAll(cluster.children);
    cluster = await startCluster(dir, false);
    const off = await drive([cluster.frontends.NE!], Math.round(total / 3), window);
    log(`skewed, overflow off: ${fmt.rate(off)}`);
    await stopAll(cluster.children);
    const vsEven = skewed / even;
    const vsOff = skewed / off;
    return {
      name: "overflow",
      title: "Overflow: all load at one region vs. spread evenly vs. overflow off",
      rows: [
        {
          metric: "skewed load, overflow on vs. even load",
          value: fmt.rate(skewed),
          baseline: fmt.rate(even),
          ratio: vsEven,
          target: "≥ 0.8×",
          pass: vsEven >= 0.8,
        },
        {
          metric: "skewed load, overflow on vs. overflow off",
          value: fmt.rate(skewed),
          baseline: fmt.rate(off),
          ratio: vsOff,
          target: "≥ 3.5×",
          pass: vsOff >= 3.5,
        },
        {
          metric: "p50 latency of one cloud hop (sys.echo@SW from NE) vs. local (sys.echo@NE)",
          value: fmt.ms(hop.remote),
          baseline: fmt.ms(hop.local),
          ratio: hop.remote / hop.local,
        },
      ],
      notes: [
        `5 brokers and 10 workers as separate processes; each worker runs sys.sleep 10 ms with concurrency 1, so the cluster has 10 slots (ideal ≈ 1000 req/s) and cores are not the limit. ${total.toLocaleString("en-US")} requests, ${window} in flight.`,
        "Skewed: every request enters at NE as unqualified `sys.sleep`; NE runs 2 at a time and overflows the rest to the peer announcing the most free capacity. Even: the same total from five clients, one per broker. Off: brokers started with --no-overflow.",
        "The hop row is the cost of one broker-to-broker hop (client → NE → SW → worker → SW → NE → client), the path an overflowed request takes.",
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
