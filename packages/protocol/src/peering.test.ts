/**
 * Broker peering over real tcp sockets: cloud links (ROUTER↔ROUTER, routing ids = region
 * names), state flow (PUB/SUB) and the six fixes to the guide's peering3.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { Broker, type PeerEndpoints } from "./broker.js";
import { Client } from "./client.js";
import { Flag } from "./frames.js";
import { freePorts, waitFor } from "./testing/index.js";
import { FAST_HEARTBEAT } from "./testing/fixtures.js";
import { Worker } from "./worker.js";
import { curveClientOptions, curveServerOptions, generateKeyPair } from "./security.js";
import { ZapAuthenticator } from "./zap-authenticator.js";

const HB = FAST_HEARTBEAT; // 100 ms × 3
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const things: { stop(n?: number): Promise<void> }[] = [];
const clients: Client[] = [];
const raw: zmq.Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of raw.splice(0)) s.close();
  for (const t of things.splice(0).reverse()) await t.stop(0);
});

interface Node {
  name: string;
  frontend: string;
  backend: string;
  cloud: string;
  state: string;
}

async function nodes(names: string[]): Promise<Node[]> {
  const eps = (await freePorts(names.length * 4)).map((p) => `tcp://127.0.0.1:${p}`);
  return names.map((name, i) => ({
    name,
    frontend: eps[4 * i]!,
    backend: eps[4 * i + 1]!,
    cloud: eps[4 * i + 2]!,
    state: eps[4 * i + 3]!,
  }));
}

async function startBroker(self: Node, all: Node[], overflow = true): Promise<Broker> {
  const peers: PeerEndpoints[] = all
    .filter((n) => n !== self)
    .map((n) => ({ name: n.name, cloud: n.cloud, state: n.state }));
  const broker = new Broker({
    name: self.name,
    frontend: self.frontend,
    backend: self.backend,
    heartbeat: HB,
    peering: { region: self.name, cloud: self.cloud, state: self.state, peers, overflow },
  });
  await broker.start();
  things.push(broker);
  return broker;
}

/** A worker that answers with its own label, after `delayMs`. */
async function labelWorker(
  node: Node,
  label: string,
  concurrency: number,
  delayMs = 0,
  services = ["t.where"],
): Promise<Worker> {
  const handler = async () => {
    if (delayMs) await sleep(delayMs);
    return label;
  };
  const worker = new Worker({
    endpoint: node.backend,
    heartbeat: HB,
    concurrency,
    services: Object.fromEntries(services.map((s) => [s, handler])),
  });
  worker.start();
  await worker.ready();
  things.push(worker);
  return worker;
}

function client(node: Node): Client {
  const c = new Client({ endpoint: node.frontend, heartbeat: HB });
  clients.push(c);
  return c;
}

const body = (r: { body: Buffer[] }) => r.body.map(String).join("");

describe("broker peering", () => {
  it("lets a client at any broker reach every region: service@REGION goes to its owner", async () => {
    const all = await nodes(["A", "B", "C"]);
    const brokers = await Promise.all(all.map((n) => startBroker(n, all)));
    for (const n of all)
      await labelWorker(
        n,
        `worker-${n.name}`,
        2,
        0,
        all.map((m) => `t.where@${m.name}`),
      );
    await waitFor(
      () => brokers.every((b) => b.status().peers!.every((p) => p.alive)),
      3000,
      "peers alive",
    );
    const c = client(all[0]!);
    expect(body(await c.request("t.where@B", ""))).toBe("worker-B");
    expect(body(await c.request("T.WHERE@c", ""))).toBe("worker-C");
    expect(body(await c.request("t.where@A", ""))).toBe("worker-A");
    expect(brokers[0]!.status().counters.forwarded).toBe(2);
  });

  it("keeps capacity per peer and overflows to the one with the most free capacity (fixes 1 and 3)", async () => {
    const all = await nodes(["A", "B", "C"]);
    const [a] = await Promise.all(all.map((n) => startBroker(n, all)));
    await labelWorker(all[0]!, "A", 1, 300);
    await labelWorker(all[1]!, "B", 1, 300);
    await labelWorker(all[2]!, "C", 3, 300);
    await waitFor(
      () =>
        a!.status().peers!.find((p) => p.name === "C")?.capacity === 3 &&
        a!.status().peers!.find((p) => p.name === "B")?.capacity === 1,
      3000,
      "capacities",
    );
    const c = client(all[0]!);
    // 1 runs on A's own worker; the other 4 overflow by most free capacity: C, C, then B or C.
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => c.request("t.where", "", { timeoutMs: 5000 })),
    );
    const where = replies.map(body);
    expect(where.filter((w) => w === "A")).toHaveLength(1);
    expect(where.filter((w) => w === "C").length).toBeGreaterThanOrEqual(3);
    expect(a!.status().counters.overflowOut).toBe(4);
  });

  it("never overflows a request twice: an overflowed request waits at the broker that took it (fix 4)", async () => {
    const all = await nodes(["A", "B", "C"]);
    const [, b] = await Promise.all(all.map((n) => startBroker(n, all)));
    await labelWorker(all[1]!, "B", 1, 200);
    const cWorker = await labelWorker(all[2]!, "C", 4, 0);
    await waitFor(
      () => b!.status().peers!.find((p) => p.name === "C")?.capacity === 4,
      3000,
      "C capacity known at B",
    );
    const c = client(all[1]!);
    const first = c.request("t.where", "", { timeoutMs: 5000 }); // occupies B's only worker
    await sleep(30);
    // Already overflowed once (as if from A): must not move on to idle C.
    const second = c.request("t.where", "", { timeoutMs: 5000, flags: Flag.OVERFLOWED });
    expect(body(await first)).toBe("B");
    expect(body(await second)).toBe("B");
    expect(cWorker.counters.handled).toBe(0);
    expect(b!.status().counters.overflowOut).toBe(0);
  });

  it("declares a silent peer dead within liveness × interval and re-runs its reads elsewhere (fix 2)", async () => {
    const all = await nodes(["A", "B"]);
    const a = await startBroker(all[0]!, all);
    // B is played by raw sockets: it announces capacity, takes work, then goes silent.
    const state = new zmq.Publisher({ linger: 0 });
    const cloud = new zmq.Router({ linger: 0, routingId: "B" });
    raw.push(state, cloud);
    await state.bind(all[1]!.state);
    await cloud.bind(all[1]!.cloud);
    const announce = setInterval(
      () => void state.send(["B", "5"]).catch(() => undefined),
      HB.intervalMs,
    );
    await waitFor(() => a.status().peers![0]!.alive, 3000, "B alive at A");
    const c = client(all[0]!);
    const read = c.request("t.where", "", { timeoutMs: 5000 });
    const write = c.request("t.where", "", { timeoutMs: 5000, idempotent: false });
    await receive(cloud); // both reached B
    await receive(cloud);
    await labelWorker(all[0]!, "A", 2);
    clearInterval(announce);
    const t0 = Date.now();
    expect(body(await read)).toBe("A");
    await expect(write).resolves.toMatchObject({ status: 503 });
    expect(Date.now() - t0).toBeLessThan(HB.intervalMs * HB.liveness + 600);
    expect(a.status().peers![0]!.alive).toBe(false);
    expect(a.status().counters.peerLost).toBe(1);
  });

  it("learns every live peer's capacity within one interval of (re)joining (fix 5)", async () => {
    const all = await nodes(["A", "B"]);
    await startBroker(all[1]!, all);
    await labelWorker(all[1]!, "B", 7);
    await sleep(HB.intervalMs * 2);
    const a = await startBroker(all[0]!, all); // joins late
    const t0 = Date.now();
    await waitFor(
      () => a.status().peers![0]!.capacity === 7,
      HB.intervalMs * 5,
      "capacity learned",
    );
    expect(Date.now() - t0).toBeLessThanOrEqual(HB.intervalMs * 2 + 100);
  });

  it("accepts a restarted peer with the same identity (handover) and detects unroutable sends (fix 6)", async () => {
    const all = await nodes(["A", "B", "D"]);
    const a = await startBroker(all[0]!, all);
    let b = await startBroker(all[1]!, all);
    await labelWorker(all[1]!, "B1", 1, 0, ["t.where@B"]);
    const c = client(all[0]!);
    await waitFor(() => a.status().peers!.find((p) => p.name === "B")!.alive, 3000, "B alive");
    expect(body(await c.request("t.where@B", ""))).toBe("B1");
    // Restart B with the same identity and endpoints.
    await b.stop(0);
    things.splice(things.indexOf(b), 1);
    b = await startBroker(all[1]!, all);
    // Like every geomesh worker, B's serves the same services as its peers' (overflow relies on it).
    await labelWorker(all[1]!, "B2", 1, 0, ["t.where@B", "t.where"]);
    await waitFor(() => b.status().workers.length === 1, 3000, "B2 registered");
    expect(body(await c.request("t.where@B", "", { timeoutMs: 5000 }))).toBe("B2");
    // D announces capacity but has no cloud socket: the overflow send is unroutable.
    const dState = new zmq.Publisher({ linger: 0 });
    raw.push(dState);
    await dState.bind(all[2]!.state);
    const announce = setInterval(
      () => void dState.send(["D", "50"]).catch(() => undefined),
      HB.intervalMs,
    );
    await waitFor(() => a.status().peers!.find((p) => p.name === "D")!.alive, 3000, "D alive");
    await labelWorker(all[0]!, "A", 1, 300);
    const busy = c.request("t.where", "", { timeoutMs: 5000 }); // A's own worker is now taken
    await sleep(20);
    const pending = c.request("t.where", "", { timeoutMs: 5000 }); // overflows to D (most free)
    await waitFor(() => a.status().counters.unroutable > 0, 3000, "unroutable detected");
    clearInterval(announce);
    expect(body(await busy)).toBe("A");
    // Rescued, never lost: re-dispatched at A, or given its one overflow hop to B.
    expect(["A", "B2"]).toContain(body(await pending));
    expect(a.status().peers!.find((p) => p.name === "D")!.alive).toBe(false);
  });
});

describe("state flow", () => {
  it("announces capacity after every burst of changes, not only on the heartbeat", async () => {
    const all = await nodes(["A", "B"]);
    const [, b] = await Promise.all(all.map((n) => startBroker(n, all)));
    await labelWorker(all[1]!, "B", 1, 5, ["t.where@B"]);
    await waitFor(() => b!.status().peers![0]!.alive, 3000, "A alive at B");
    const sub = new zmq.Subscriber({ linger: 0 });
    raw.push(sub);
    sub.connect(all[1]!.state);
    sub.subscribe();
    await sleep(150);
    let heard = 0;
    const counting = (async () => {
      for await (const _ of sub) heard += 1;
    })().catch(() => undefined);
    const c = client(all[0]!);
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) await c.request("t.where@B", "");
    const periodicOnly = Math.ceil((Date.now() - t0) / HB.intervalMs) + 1;
    // Each request takes B's only slot and frees it: far more announcements than heartbeats.
    expect(heard).toBeGreaterThan(periodicOnly * 2);
    sub.close();
    await counting;
  });
});

describe("state flow between peers that need no overflow", () => {
  it("keeps to the heartbeat while capacity never reaches 0 and nobody overflows here", async () => {
    const all = await nodes(["A", "B"]);
    const [a, b] = await Promise.all(all.map((n) => startBroker(n, all)));
    await labelWorker(all[1]!, "B", 5, 0, ["t.where@B"]);
    await waitFor(() => b!.status().peers![0]!.alive, 3000, "A alive at B");
    // And B alive at A: before that, A would queue the requests and overflow them to B once it
    // appears — a peer overflowing here, which this case must not have.
    await waitFor(() => a!.status().peers![0]!.alive, 3000, "B alive at A");
    const before = b!.status().counters;
    const c = client(all[0]!);
    const t0 = Date.now();
    // One at a time: B's free capacity goes 5 → 4 → 5, never 0, and A sends no overflow.
    for (let i = 0; i < 40; i++) await c.request("t.where@B", "");
    const after = b!.status().counters;
    const heartbeats = Math.ceil((Date.now() - t0) / HB.intervalMs) + 1;
    expect(after.statesDeferred - before.statesDeferred).toBeGreaterThanOrEqual(40);
    expect(after.statesSent - before.statesSent).toBeLessThanOrEqual(heartbeats);
  });

  it("announces every change while a peer overflows here, so its view stays exact", async () => {
    const all = await nodes(["A", "B"]);
    const [a, b] = await Promise.all(all.map((n) => startBroker(n, all)));
    await labelWorker(all[0]!, "A", 1, 200);
    await labelWorker(all[1]!, "B", 4, 20);
    await waitFor(
      () => a!.status().peers!.find((p) => p.name === "B")?.capacity === 4,
      3000,
      "B's capacity at A",
    );
    const c = client(all[0]!);
    const before = b!.status().counters;
    // A's one slot is taken at once: the rest overflow to B in bursts as B announces room.
    const replies = await Promise.all(
      Array.from({ length: 30 }, () => c.request("t.where", "", { timeoutMs: 5000 })),
    );
    const after = b!.status().counters;
    const atB = replies.map(body).filter((w) => w === "B").length;
    expect(atB).toBeGreaterThan(15);
    expect(after.overflowIn - before.overflowIn).toBe(atB);
    // Each overflowed request changes B's capacity twice; B announced them rather than deferring.
    expect(after.statesSent - before.statesSent).toBeGreaterThan(atB / 2);
    expect(after.statesDeferred - before.statesDeferred).toBeLessThan(3);
  });
});

describe("broker peering with one store per region", () => {
  it("overflows service@REGION only to peers whose workers serve that region", async () => {
    const all = await nodes(["A", "B"]);
    const [a, b] = await Promise.all(all.map((n) => startBroker(n, all)));
    // A's one slot serves A's leaves; B has plenty of room but only for B's leaves (and `t.any`).
    await labelWorker(all[0]!, "A", 1, 150, ["t.leaf@a"]);
    await labelWorker(all[1]!, "B", 8, 0, ["t.leaf@b", "t.any"]);
    await waitFor(
      () => a!.status().peers![0]!.alive && a!.status().peers![0]!.capacity === 8,
      3000,
      "B's capacity at A",
    );
    const c = client(all[0]!);
    const replies = await Promise.all(
      Array.from({ length: 4 }, () => c.request("t.leaf@A", "", { timeoutMs: 5000 })),
    );
    // All four ran on A's own worker, one after another; none went to B, which cannot run them.
    expect(replies.map(body)).toEqual(["A", "A", "A", "A"]);
    expect(a!.counters.overflowOut).toBe(0);
    expect(b!.counters.overflowIn).toBe(0);
  });

  it("answers service@REGION of a region whose broker is down with 503 REGION_UNAVAILABLE at once", async () => {
    const all = await nodes(["A", "B"]);
    // B never starts. A's worker serves only A.
    const a = await startBroker(all[0]!, all);
    await labelWorker(all[0]!, "A", 1, 0, ["t.leaf@a"]);
    await sleep(HB.intervalMs * HB.liveness + 50); // A has given B a full liveness period
    const c = client(all[0]!);
    const started = Date.now();
    const reply = await c.request("t.leaf@B", "", { timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(250);
    expect(reply.status).toBe(503);
    expect(JSON.parse(body(reply))).toMatchObject({
      error: { code: "REGION_UNAVAILABLE", data: { unavailable: ["B"] } },
    });
    expect(a.counters.regionUnavailable).toBe(1);
  });

  it("answers a service nobody offers with 404 within unknownServiceMs", async () => {
    const [n] = await nodes(["A"]);
    const broker = new Broker({
      name: "A",
      frontend: n!.frontend,
      backend: n!.backend,
      heartbeat: HB,
      unknownServiceMs: 200,
    });
    await broker.start();
    things.push(broker);
    const c = client(n!);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const reply = await c.request("no.such.service", "", { timeoutMs: 5000 });
      const elapsed = Date.now() - started;
      expect(reply.status).toBe(404);
      // The bound holds from both sides: a worker that registers meanwhile would still be used,
      // and the answer does not wait much past it (the sweep runs every bound / 4).
      expect(elapsed).toBeGreaterThanOrEqual(195);
      expect(elapsed).toBeLessThan(200 + 400);
    }
  });
});

describe("broker peering with CURVE", () => {
  it("forwards across regions over authenticated, encrypted cloud and state links", async () => {
    const brokerKeys = generateKeyPair(); // every broker holds the same pair
    const clientKeys = generateKeyPair();
    const zap = new ZapAuthenticator({
      domain: "peering-test",
      allow: [brokerKeys.publicKey, clientKeys.publicKey],
    });
    await zap.start();
    things.push(zap);
    const all = await nodes(["A", "B"]);
    const server = curveServerOptions(brokerKeys, "peering-test");
    const peerClient = curveClientOptions(brokerKeys, brokerKeys.publicKey);
    const brokers: Broker[] = [];
    for (const self of all) {
      const peers = all
        .filter((n) => n !== self)
        .map((n) => ({ name: n.name, cloud: n.cloud, state: n.state }));
      const b = new Broker({
        name: self.name,
        frontend: self.frontend,
        backend: self.backend,
        heartbeat: HB,
        curve: server,
        peering: {
          region: self.name,
          cloud: self.cloud,
          state: self.state,
          peers,
          curve: peerClient,
        },
      });
      await b.start();
      things.push(b);
      brokers.push(b);
    }
    const worker = new Worker({
      endpoint: all[1]!.backend,
      heartbeat: HB,
      curve: curveClientOptions(clientKeys, brokerKeys.publicKey),
      services: { "t.where@b": () => "B over CURVE" },
    });
    worker.start();
    await worker.ready();
    things.push(worker);
    await waitFor(() => brokers[0]!.status().peers![0]!.alive, 3000, "B alive at A over CURVE");
    const c = new Client({
      endpoint: all[0]!.frontend,
      heartbeat: HB,
      curve: curveClientOptions(clientKeys, brokerKeys.publicKey),
    });
    clients.push(c);
    expect(body(await c.request("t.where@B", "", { timeoutMs: 3000 }))).toBe("B over CURVE");
  });
});

async function receive(socket: zmq.Router): Promise<Buffer[]> {
  return socket.receive();
}
