/**
 * `geomesh broker` and `geomesh worker` as real processes on loopback, driven by stock 7/MDP
 * sockets written from the RFC and by the project's client.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GeomeshClient } from "@geomesh/client";
import { defaultClusterInput } from "@geomesh/config";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { GeomeshProcess, freeEndpoint } from "./helpers/processes.js";

const HB = { intervalMs: 200, liveness: 3 };
const running: GeomeshProcess[] = [];
const sockets: zmq.Socket[] = [];
const clients: GeomeshClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of sockets.splice(0)) s.close();
  await Promise.all(running.splice(0).map((p) => p.destroy()));
});

/** A config file with fast heartbeats (everything else default). */
function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "geomesh-proc-"));
  const path = join(dir, "geomesh.config.json");
  writeFileSync(path, JSON.stringify({ ...defaultClusterInput({ dataDir: dir }), heartbeat: HB }));
  return path;
}

async function cluster(workers: number, workerArgs: string[] = []) {
  const config = configFile();
  const frontend = await freeEndpoint();
  const backend = await freeEndpoint();
  const broker = new GeomeshProcess([
    "--config",
    config,
    "broker",
    "--region",
    "NE",
    "--frontend",
    frontend,
    "--backend",
    backend,
  ]);
  running.push(broker);
  await broker.waitForLog(/^broker started$/);
  const ws: GeomeshProcess[] = [];
  for (let i = 0; i < workers; i++) {
    const w = new GeomeshProcess([
      "--config",
      config,
      "worker",
      "--region",
      "NE",
      "--broker",
      backend,
      ...workerArgs,
    ]);
    running.push(w);
    ws.push(w);
  }
  for (const w of ws) await w.waitForLog(/^worker registered$/);
  const client = new GeomeshClient({ endpoint: frontend, heartbeat: HB });
  clients.push(client);
  return { config, frontend, backend, broker, workers: ws, client };
}

function track<T extends zmq.Socket>(s: T): T {
  sockets.push(s);
  return s;
}

describe("geomesh broker + worker processes", () => {
  it("serve a stock 7/MDP client, and a stock 7/MDP worker alongside geomesh workers", async () => {
    const { frontend, backend } = await cluster(1);
    const req = track(new zmq.Request({ linger: 0, receiveTimeout: 5000 }));
    req.connect(frontend);
    await req.send(["MDPC01", "sys.echo", '{"hello":"world"}']);
    expect((await req.receive()).map(String)).toEqual(["MDPC01", "sys.echo", '{"hello":"world"}']);

    // A stock worker, written from the RFC, registers another service on the same broker.
    const stock = track(new zmq.Dealer({ linger: 0, receiveTimeout: 5000 }));
    stock.connect(backend);
    await stock.send(["", "MDPW01", Buffer.from([1]), "legacy.upper"]);
    await req.send(["MDPC01", "legacy.upper", "abc"]);
    let msg = await stock.receive();
    while (msg[2]![0] !== 0x02) msg = await stock.receive(); // skip heartbeats
    await stock.send([
      "",
      "MDPW01",
      Buffer.from([3]),
      msg[3]!,
      "",
      msg[5]!.toString().toUpperCase(),
    ]);
    expect((await req.receive()).map(String)).toEqual(["MDPC01", "legacy.upper", "ABC"]);
  });

  it("survive thousands of random messages and a 64 MiB message, and keep serving", async () => {
    const { frontend, backend, broker, client } = await cluster(1);
    const front = track(new zmq.Dealer({ linger: 0, sendTimeout: 0 }));
    const back = track(new zmq.Dealer({ linger: 0, sendTimeout: 0 }));
    front.connect(frontend);
    back.connect(backend);
    const frames = fc.array(
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      { minLength: 1, maxLength: 8 },
    );
    for (const [i, m] of fc.sample(frames, { numRuns: 4000, seed: 7 }).entries()) {
      await (i % 2 ? front : back).send(m).catch(() => undefined);
    }
    const big = track(new zmq.Dealer({ linger: 0 }));
    big.connect(frontend);
    await big.send(["", "MDPC01", "sys.echo", Buffer.alloc(64 * 1024 * 1024, 1)]);
    expect(await client.request("sys.echo", { still: "alive" })).toEqual({ still: "alive" });
    expect(broker.alive).toBe(true);
  });

  it("re-dispatches a read when its worker is SIGKILLed mid-request and answers a write 503, never from the dead worker", async () => {
    const { workers, client } = await cluster(2, ["--test-services"]);
    const read = client.request<{ slept: number }>(
      "sys.sleep",
      { ms: 1500 },
      { timeoutMs: 10_000 },
    );
    const write = client.request(
      "sys.sleep",
      { ms: 1500 },
      { timeoutMs: 10_000, idempotent: false },
    );
    // Each worker has one request (concurrency 1, round robin); find who runs the read.
    await waitForInflight(client, 2);
    const t0 = Date.now();
    await workers[0]!.destroy();
    const results = await Promise.allSettled([read, write]);
    const answered = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r) => r.status === "rejected");
    // Whichever request the dead worker held: a read is re-run elsewhere, a write fails with 503.
    expect(answered.length + failed.length).toBe(2);
    for (const f of failed) expect(f.reason).toMatchObject({ code: "WORKER_LOST", status: 503 });
    expect(results[0].status).toBe("fulfilled");
    expect(Date.now() - t0).toBeLessThan(8000);
    const status = await client.request<{ counters: { workersExpired: number } }>(
      "broker.status",
      {},
    );
    expect(status.counters.workersExpired).toBe(1);
  });

  it("drain in-flight work on SIGTERM and exit cleanly", async () => {
    const { broker, workers, client } = await cluster(1, ["--test-services"]);
    const inflight = client.request<{ slept: number }>(
      "sys.sleep",
      { ms: 600 },
      { timeoutMs: 10_000 },
    );
    await waitForInflight(client, 1);
    workers[0]!.kill("SIGTERM");
    expect(await inflight).toEqual({ slept: 600 });
    expect((await workers[0]!.exited).code).toBe(0);
    broker.kill("SIGTERM");
    expect((await broker.exited).code).toBe(0);
    await broker.waitForLog(/^broker stopped$/);
  });

  it("lets workers reconnect and re-register when their broker is restarted", async () => {
    const { config, frontend, backend, broker, workers } = await cluster(1);
    await broker.destroy();
    await workers[0]!.waitForLog(/^reconnecting to broker$/);
    const again = new GeomeshProcess([
      "--config",
      config,
      "broker",
      "--region",
      "NE",
      "--frontend",
      frontend,
      "--backend",
      backend,
    ]);
    running.push(again);
    await again.waitForLog(/^worker registered$/, 20_000);
    expect(workers[0]!.alive).toBe(true);
    const client = new GeomeshClient({ endpoint: frontend, heartbeat: HB });
    clients.push(client);
    expect(await client.request("sys.echo", [1, 2, 3])).toEqual([1, 2, 3]);
  });
});

/** Polls the broker's status service until `n` requests are running on workers. */
async function waitForInflight(client: GeomeshClient, n: number): Promise<void> {
  const until = Date.now() + 5000;
  for (;;) {
    const status = await client.request<{ workers: { inflight: number }[] }>("broker.status", {});
    if (status.workers.reduce((sum, w) => sum + w.inflight, 0) >= n) return;
    if (Date.now() > until) throw new Error(`never saw ${n} requests in flight`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
