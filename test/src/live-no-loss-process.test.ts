/**
 * Issue 10, step 4: no committed change is ever lost from the live feeds. Five brokers, two
 * single-store workers per region (NE's second one SIGKILLs itself between a store commit and its
 * `broker.publish`, through `GEOMESH_FAULT_EXIT_AFTER_COMMIT` — the region's other worker's
 * outbox sweep must re-send it), two gateways with live subscriptions covering every region.
 * Writes under load through both gateways. South's second worker dies the same way, and the
 * South broker is SIGKILLed and restarted at once, before a sweep can re-send: the gateways must
 * refill the change from South's outbox. Every subscription must receive exactly the changes the
 * stores committed (their outboxes are the oracle; every acknowledged write is among them) —
 * none missing, none twice, in each region's seq order — and no gap notice.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LngLat, defaultRegionMap } from "@geomesh/geo";
import { seededRandom } from "@geomesh/geo/testing";
import { Client } from "@geomesh/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { GeomeshProcess, freePort, writeClusterConfig } from "./helpers/processes.js";

const HB = { intervalMs: 300, liveness: 3 };
const map = defaultRegionMap();
const REGIONS = map.names();
/** NE's faulty worker dies right after this many of its own commits. */
const FAULT_AFTER = 12;
const WRITES = 420;
const procs = new Map<string, GeomeshProcess>();
const sockets: WebSocket[] = [];
const gateways: string[] = [];
let dir = "";
let config = "";
let frontends: Record<string, string> = {};

/** Where places are written: one spot per region, well inside it. */
const SPOTS: Record<string, LngLat> = {
  NE: [-74.5, 41.5],
  South: [-86.5, 33.5],
  MW: [-93.5, 42],
  SW: [-106, 34.5],
  CA: [-120, 37.5],
};

interface Received {
  type: "event";
  subscription: string;
  kind: string;
  region: string;
  seq: number;
  id: string;
}

interface Sub {
  readonly name: string;
  readonly ws: WebSocket;
  readonly got: Received[];
  readonly other: Record<string, unknown>[];
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): GeomeshProcess {
  const p = new GeomeshProcess(["--config", config, ...args], env);
  procs.set(name, p);
  return p;
}

async function registered(p: GeomeshProcess, times: number): Promise<void> {
  const until = Date.now() + 90_000;
  while (p.lines.filter((l) => l.msg === "worker registered").length < times) {
    if (Date.now() > until) throw new Error("worker did not register");
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geomesh-noloss-"));
  const written = await writeClusterConfig(dir, { heartbeat: HB });
  config = written.path;
  frontends = Object.fromEntries(written.input.regions.map((r) => [r.name, r.endpoints.frontend]));
  for (const r of REGIONS) start(`broker-${r}`, ["broker", "--region", r]);
  await Promise.all(
    REGIONS.map((r) => procs.get(`broker-${r}`)!.waitForLog(/^broker started$/, 60_000)),
  );
  for (const r of REGIONS) {
    for (const n of [1, 2])
      start(
        `worker-${r}-${n}`,
        ["worker", "--region", r, "--own-store", "--concurrency", "2"],
        (r === "NE" || r === "South") && n === 2
          ? { GEOMESH_FAULT_EXIT_AFTER_COMMIT: String(FAULT_AFTER) }
          : {},
      );
  }
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    start(`gateway-${i}`, ["gateway", "--port", String(port)]);
    gateways.push(`127.0.0.1:${port}`);
  }
  // Single-store workers register twice: leaf slots and coordinating slots.
  await Promise.all(
    [...procs].filter(([n]) => n.startsWith("worker-")).map(([, p]) => registered(p, 2)),
  );
  await Promise.all(
    [0, 1].map((i) => procs.get(`gateway-${i}`)!.waitForLog(/^gateway listening$/, 60_000)),
  );
}, 240_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all([...procs.values()].map((p) => p.destroy()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function subscribe(name: string, gateway: string): Promise<Sub> {
  const ws = new WebSocket(`ws://${gateway}/v1/live`);
  sockets.push(ws);
  const sub: Sub = { name, ws, got: [], other: [] };
  ws.on("message", (data: Buffer) => {
    const m = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    if (m.type === "event") sub.got.push(m as unknown as Received);
    else sub.other.push(m);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.send(
    JSON.stringify({
      op: "subscribe",
      id: "all",
      area: {
        box: [
          [-125, 24],
          [-66, 50],
        ],
      },
    }),
  );
  const until = Date.now() + 20_000;
  while (!sub.other.some((m) => m.id === "all")) {
    if (Date.now() > until) throw new Error(`no answer to ${name}'s subscribe`);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(sub.other[0]).toMatchObject({ type: "subscribed", id: "all" });
  return sub;
}

/**
 * One write through a gateway: the HTTP status (503s are expected mid-fault) and, when it
 * succeeded, the change it made (`created`, `updated` or `deleted`).
 */
async function write(
  gateway: string,
  method: "PUT" | "DELETE",
  id: string,
  body?: unknown,
): Promise<{ status: number; kind?: string }> {
  try {
    const res = await fetch(`http://${gateway}/v1/places/${encodeURIComponent(id)}`, {
      method,
      signal: AbortSignal.timeout(15_000),
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== 200) return { status: res.status };
    const reply = JSON.parse(text) as { status?: string; deleted?: boolean };
    return {
      status: 200,
      kind: method === "DELETE" ? (reply.deleted ? "deleted" : "none") : String(reply.status),
    };
  } catch {
    return { status: 0 };
  }
}

/** A region's outbox, read through its broker (`changes.since@REGION`, paged). */
async function outboxOf(region: string): Promise<{ seq: number; id: string; kind: string }[]> {
  const client = new Client({ endpoint: frontends[region]!, heartbeat: HB });
  try {
    const out: { seq: number; id: string; kind: string }[] = [];
    for (;;) {
      const since = out.at(-1)?.seq ?? 0;
      const reply = await client.request(
        `changes.since@${region}`,
        [Buffer.from(JSON.stringify({ since, limit: 1000 }))],
        { timeoutMs: 10_000, idempotent: true },
      );
      expect(reply.status, `${region}: ${reply.body[0]?.toString()}`).toBe(200);
      const page = JSON.parse(reply.body[0]!.toString("utf8")) as {
        events: { seq: number; id: string; kind: string }[];
        first: number;
        last: number;
      };
      out.push(...page.events.map(({ seq, id, kind }) => ({ seq, id, kind })));
      if (page.events.length < 1000) return out;
    }
  } finally {
    await client.close();
  }
}

describe("live feeds lose no committed change", () => {
  it("delivers every committed change once, in order, through a worker killed after commit and a broker restart", async () => {
    const subs: Sub[] = [];
    for (let i = 0; i < 4; i++) subs.push(await subscribe(`s${i}`, gateways[i % 2]!));

    const rand = seededRandom(2026);
    const alive = new Map<string, string>(); // id → region
    const acknowledged: { id: string; region: string; kind: string }[] = [];
    const statuses = new Map<number, number>();
    let issued = 0;
    let brokerRestarted = false;
    const faulty = procs.get("worker-NE-2")!;

    const one = async (step: number) => {
      const gateway = gateways[step % 2]!;
      const ids = [...alive.keys()];
      const r = rand();
      const create = ids.length < 15 || r < 0.5;
      const id = create ? `n${step}` : ids[Math.floor(rand() * ids.length)]!;
      const region = create ? REGIONS[Math.floor(rand() * REGIONS.length)]! : alive.get(id)!;
      const [lng, lat] = SPOTS[region]!;
      let result: { status: number; kind?: string };
      if (create || r < 0.85) {
        alive.set(id, region);
        result = await write(gateway, "PUT", id, {
          name: create ? id : `${id}'`,
          category: create ? "cafe" : "park",
          location: { type: "Point", coordinates: [lng + rand() - 0.5, lat + rand() - 0.5] },
        });
      } else {
        alive.delete(id);
        result = await write(gateway, "DELETE", id);
      }
      if (result.kind !== undefined && result.kind !== "none")
        acknowledged.push({ id, region, kind: result.kind });
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      // A region down (its broker restarting, a worker lost): back off instead of spinning.
      if (result.status >= 500 || result.status === 0) await new Promise((r) => setTimeout(r, 250));
    };

    // South's faulty worker dies after a commit, and at once — before the other South worker's
    // sweep can re-send it — the South broker is SIGKILLed (with whatever it held) and started
    // again: only the gateways' refill from the outbox can then bring subscribers that change.
    const southFaulty = procs.get("worker-South-2")!;
    const restarted = southFaulty.exited.then(async () => {
      const old = procs.get("broker-South")!;
      old.kill("SIGKILL");
      await old.exited;
      brokerRestarted = true;
      const again = start("broker-South", ["broker", "--region", "South"]);
      await again.waitForLog(/^broker started$/, 60_000);
    });
    // Eight writers at once.
    const writer = async () => {
      while (issued < WRITES) await one(issued++);
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    await restarted;
    for (const p of [faulty, southFaulty]) expect((await p.exited).signal).toBe("SIGKILL");
    expect(brokerRestarted).toBe(true);
    // The other South worker is back on the restarted broker (its two slot classes registered again).
    await registered(procs.get("worker-South-1")!, 4);

    // The oracle: what each region's store committed.
    const oracle = new Map<string, { seq: number; id: string; kind: string }[]>();
    for (const region of REGIONS) oracle.set(region, await outboxOf(region));
    const committed = [...oracle.values()].reduce((n, l) => n + l.length, 0);
    // Every acknowledged write is committed; nothing beyond what was issued is.
    for (const a of acknowledged)
      expect(
        oracle.get(a.region)!.some((c) => c.id === a.id && c.kind === a.kind),
        `${a.region} ${a.id} ${a.kind}`,
      ).toBe(true);
    // The faulty workers' last commits were never acknowledged: they died before answering.
    expect(committed).toBeGreaterThanOrEqual(acknowledged.length + 2);
    expect(committed).toBeLessThanOrEqual(WRITES);
    // Seqs are 1, 2, 3, … per region (SQLite outboxes have no holes).
    for (const [region, list] of oracle)
      expect(
        list.map((c) => c.seq),
        region,
      ).toEqual(list.map((_, i) => i + 1));

    const until = Date.now() + 30_000;
    while (subs.some((s) => s.got.length < committed) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would arrive now

    for (const s of subs) {
      expect(
        s.other.filter((m) => m.type !== "subscribed"),
        `${s.name}: notices`,
      ).toEqual([]);
      for (const region of REGIONS) {
        const got = s.got
          .filter((e) => e.region === region)
          .map((e) => ({ seq: e.seq, id: e.id, kind: e.kind }));
        expect(got, `${s.name} ${region}`).toEqual(oracle.get(region));
      }
    }
    // The faults happened where the test meant them to: a write lost its worker, and the
    // survivors re-sent from the outbox what the dead worker had committed but not published.
    const resent = [...procs]
      .filter(([n]) => n.startsWith("worker-NE-1"))
      .flatMap(([, p]) => p.lines)
      .filter((l) => l.msg === "re-sent events the broker had not published");
    expect(resent.length).toBeGreaterThan(0);
    expect(statuses.get(200)).toBeGreaterThan(WRITES * 0.4);
    // …and both gateways refilled South's lost change from its outbox.
    const refills = [0, 1].flatMap((i) =>
      procs.get(`gateway-${i}`)!.lines.filter((l) => l.msg === "refilled a gap from the outbox"),
    );
    for (const i of [0, 1])
      expect(
        procs
          .get(`gateway-${i}`)!
          .lines.some((l) => l.msg === "refilled a gap from the outbox" && l.region === "South"),
        `gateway ${i} refilled South`,
      ).toBe(true);
    console.info("no-loss", {
      committed,
      acknowledged: acknowledged.length,
      resent: resent.map((l) => `${String(l.from)}-${String(l.to)}`),
      refills: refills.map((l) => `${String(l.region)} ${String(l.from)}-${String(l.to)}`),
      statuses: Object.fromEntries(statuses),
    });
  }, 240_000);
});
