import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { packMessages } from "./batch.js";
import type { Broker } from "./broker.js";
import { unbatch } from "./codec.js";
import type { Client } from "./client.js";
import { TRANSPORTS, waitFor } from "./testing/index.js";
import {
  FAST_HEARTBEAT,
  receiveWithin,
  startBroker,
  startClient,
  startWorker,
  text,
} from "./testing/fixtures.js";
import type { Worker, WorkerRequest } from "./worker.js";

const json = (buf: Buffer | undefined): unknown => JSON.parse(buf?.toString() ?? "null");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(TRANSPORTS)("extended dialect over %s", (transport) => {
  let broker: Broker | undefined;
  const stops: ({ stop(n?: number): Promise<void> } | { close(): Promise<void> })[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await ("stop" in s ? s.stop(0) : s.close());
    await broker?.stop(0);
    broker = undefined;
  });
  const track = <T extends Worker | Client>(t: T): T => {
    stops.push(t);
    return t;
  };

  it("carries many outstanding requests on one socket and matches replies by request id", async () => {
    broker = await startBroker(transport);
    track(
      await startWorker(broker, {
        concurrency: 8,
        services: { "sys.echo": async (r) => (await sleep(Math.random() * 20), r.body) },
      }),
    );
    const client = track(startClient(broker));
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.request("sys.echo", `m${i}`)),
    );
    replies.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.map(String)).toEqual([`m${i}`]);
    });
  });

  it("puts a status on every reply, including handler errors", async () => {
    broker = await startBroker(transport);
    const { GeomeshError } = await import("@geomesh/errors");
    track(
      await startWorker(broker, {
        services: {
          "t.conflict": () => {
            throw new GeomeshError("CONFLICT", "already there");
          },
          "t.crash": () => {
            throw new Error("secret internals");
          },
          "t.custom": () => ({ status: 422, body: "nope" }),
        },
      }),
    );
    const client = track(startClient(broker));
    const conflict = await client.request("t.conflict", "");
    expect(conflict.status).toBe(409);
    expect(json(conflict.body[0])).toMatchObject({
      error: { code: "CONFLICT", message: "already there" },
    });
    const crash = await client.request("t.crash", "");
    expect(crash.status).toBe(500);
    expect(crash.body[0]!.toString()).not.toContain("secret");
    expect((await client.request("t.custom", "")).status).toBe(422);
  });

  it("streams PARTIAL replies then a FINAL", async () => {
    broker = await startBroker(transport);
    track(
      await startWorker(broker, {
        services: {
          "t.count": (r) => {
            for (let i = 0; i < 5; i++) r.partial(`p${i}`);
            return "done";
          },
        },
      }),
    );
    const client = track(startClient(broker));
    const parts: string[] = [];
    for await (const part of client.stream("t.count", ""))
      parts.push(`${part.final ? "F" : "P"}:${part.body.join("")}`);
    expect(parts).toEqual(["P:p0", "P:p1", "P:p2", "P:p3", "P:p4", "F:done"]);
    // Without streaming the parts arrive in one reply, in order.
    const whole = await client.request("t.count", "");
    expect(whole.body.map(String)).toEqual(["p0", "p1", "p2", "p3", "p4", "done"]);
  });

  it("never dispatches a request whose deadline passed in the queue; the client gets 504", async () => {
    broker = await startBroker(transport);
    const started: string[] = [];
    track(
      await startWorker(broker, {
        concurrency: 1,
        services: {
          "t.slow": async (r) => (started.push(r.body.join("")), await sleep(300), "ok"),
        },
      }),
    );
    const client = track(startClient(broker));
    const first = client.request("t.slow", "a", { timeoutMs: 2000 });
    await sleep(20);
    const second = await client.request("t.slow", "b", { timeoutMs: 100 });
    expect(second.status).toBe(504);
    expect(json(second.body[0])).toMatchObject({ error: { code: "DEADLINE_EXCEEDED" } });
    expect((await first).status).toBe(200);
    await sleep(50);
    expect(started).toEqual(["a"]);
  });

  it("aborts the handler's signal when the client cancels, and frees the slot", async () => {
    broker = await startBroker(transport);
    let seen: WorkerRequest | undefined;
    track(
      await startWorker(broker, {
        concurrency: 1,
        services: {
          "t.wait": (r) =>
            new Promise((_, reject) => {
              seen = r;
              r.signal.addEventListener("abort", () => reject(r.signal.reason as Error));
            }),
          "sys.echo": (r) => r.body,
        },
      }),
    );
    const client = track(startClient(broker));
    const controller = new AbortController();
    const pending = client.request("t.wait", "", { signal: controller.signal });
    await waitFor(() => seen !== undefined, 2000, "request at worker");
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "CANCELLED" });
    await waitFor(() => seen!.signal.aborted, 2000, "worker-side abort");
    expect((await client.request("sys.echo", "next")).status).toBe(200);
  });

  it("cancels a silent client's requests at the worker", async () => {
    broker = await startBroker(transport);
    let seen: WorkerRequest | undefined;
    track(
      await startWorker(broker, {
        services: {
          "t.wait": (r) =>
            new Promise(
              (_, reject) => (
                (seen = r),
                r.signal.addEventListener("abort", () => reject(new Error("aborted")))
              ),
            ),
        },
      }),
    );
    // A raw GMP client that sends one request and never heartbeats.
    const raw = new zmq.Dealer({ linger: 0 });
    raw.connect(broker.endpoints.frontend);
    await raw.send(["GMPC01 REQUEST r1 t.wait 10000 1 -", "{}"]);
    await waitFor(() => seen !== undefined, 2000, "request at worker");
    await waitFor(
      () => seen!.signal.aborted,
      FAST_HEARTBEAT.intervalMs * 8,
      "abort after client silence",
    );
    expect(broker.status().counters.clientsExpired).toBe(1);
    raw.close();
  });

  it("keeps a heartbeating client's long request alive past the liveness window", async () => {
    broker = await startBroker(transport);
    track(
      await startWorker(broker, {
        services: {
          "t.slow": async () => (await sleep(FAST_HEARTBEAT.intervalMs * 6), "late but fine"),
        },
      }),
    );
    const client = track(startClient(broker));
    const reply = await client.request("t.slow", "", { timeoutMs: 5000 });
    expect(reply.body.map(String)).toEqual(["late but fine"]);
  });

  it("honours worker concurrency credit", async () => {
    broker = await startBroker(transport);
    let running = 0;
    let peak = 0;
    const handler = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await sleep(20);
      running -= 1;
      return "ok";
    };
    track(await startWorker(broker, { concurrency: 3, services: { "t.work": handler } }));
    const client = track(startClient(broker));
    await Promise.all(Array.from({ length: 30 }, () => client.request("t.work", "")));
    expect(peak).toBe(3);
  });

  it("answers 503 QUEUE_FULL at once past the per-service queue bound", async () => {
    broker = await startBroker(transport, { queuePerService: 5 });
    track(
      await startWorker(broker, {
        concurrency: 1,
        services: { "t.slow": async () => (await sleep(200), "ok") },
      }),
    );
    const client = track(startClient(broker));
    const all = await Promise.all(
      Array.from({ length: 10 }, () => client.request("t.slow", "", { timeoutMs: 5000 })),
    );
    const statuses = all.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 503)).toHaveLength(4); // 1 running + 5 queued
    const full = all.find((r) => r.status === 503)!;
    expect(json(full.body[0])).toMatchObject({
      error: { code: "QUEUE_FULL", data: { retryAfterMs: FAST_HEARTBEAT.intervalMs } },
    });
  });

  it("answers 404 when no worker offers the service", async () => {
    broker = await startBroker(transport);
    const client = track(startClient(broker));
    const reply = await client.request("no.such", "", { timeoutMs: 5000 });
    expect(reply.status).toBe(404);
    expect(json(reply.body[0])).toMatchObject({ error: { code: "SERVICE_NOT_FOUND" } });
  });

  it("registers a worker offering 128 services with 128-character names", async () => {
    broker = await startBroker(transport);
    const names = Array.from({ length: 128 }, (_, i) => `svc${i}.`.padEnd(128, "x"));
    const services = Object.fromEntries(names.map((n) => [n, (r: WorkerRequest) => r.body]));
    track(await startWorker(broker, { services }));
    const client = track(startClient(broker));
    expect((await client.request(names[127]!, "last")).body.map(String)).toEqual(["last"]);
  });

  it("accepts verbs and service names in any case from a raw GMP worker", async () => {
    broker = await startBroker(transport);
    const raw = new zmq.Dealer({ linger: 0 });
    raw.connect(broker.endpoints.backend);
    await raw.send(["GMPW01 up 2 Mixed.Case"]);
    const ack = text(await receiveWithin(raw));
    expect(ack).toEqual([
      `GMPW01 UP 200 ${FAST_HEARTBEAT.intervalMs} ${FAST_HEARTBEAT.liveness} batch`,
    ]);
    const client = track(startClient(broker));
    const pending = client.request("MIXED.case", "body");
    const req = text(await receiveWithin(raw));
    expect(req[0]).toMatch(/^GMPW01 REQUEST \S+ mixed\.case \d+ 1 -$/);
    const key = req[0]!.split(" ")[2]!;
    await raw.send([`GMPW01 final ${key} 200`, "answer"]);
    expect((await pending).body.map(String)).toEqual(["answer"]);
    raw.close();
  });

  it("sends a burst to a worker that offers +batch as BATCHes, reads its BATCH of replies, and never batches to one that does not", async () => {
    broker = await startBroker(transport);
    const raw = new zmq.Dealer({ linger: 0 });
    raw.connect(broker.endpoints.backend);
    await raw.send(["GMPW01 UP 200 t.burst +batch +unknown-option"]);
    expect(text(await receiveWithin(raw))[0]).toMatch(/^GMPW01 UP 200 \d+ \d+ batch$/);
    const plain = new zmq.Dealer({ linger: 0 });
    plain.connect(broker.endpoints.backend);
    await plain.send(["GMPW01 UP 200 t.plain"]);
    await receiveWithin(plain);
    const client = track(startClient(broker));
    const burst = Array.from({ length: 200 }, (_, i) => client.request("t.burst", `b${i}`));
    const plainBurst = Array.from({ length: 50 }, (_, i) => client.request("t.plain", `p${i}`));

    // Every message is a REQUEST or a BATCH of them; a burst of 200 in one turn makes BATCHes.
    const requests: string[][] = [];
    let batches = 0;
    while (requests.length < 200) {
      const msg = await receiveWithin(raw);
      const inner = unbatch(msg);
      if (!Array.isArray(inner)) throw new Error(inner.reason);
      if (inner.length > 1) batches += 1;
      for (const m of inner) requests.push(text(m));
    }
    expect(batches).toBeGreaterThan(0);
    for (const r of requests) expect(r[0]).toMatch(/^GMPW01 REQUEST \S+ t\.burst /);
    // All 200 answers in one BATCH (reversed): each reaches its request.
    const finals = requests
      .reverse()
      .map((r) => [`GMPW01 FINAL ${r[0]!.split(" ")[2]} 200`, `re:${r[1]}`]);
    await raw.send([`GMPW01 BATCH ${finals.length}`, packMessages(finals)]);
    const answers = await Promise.all(burst);
    answers.forEach((a, i) => expect(a.body.map(String)).toEqual([`re:b${i}`]));

    const plainKeys: string[] = [];
    while (plainKeys.length < 50) {
      const msg = text(await receiveWithin(plain));
      expect(msg[0]).toMatch(/^GMPW01 REQUEST \S+ t\.plain /);
      plainKeys.push(msg[0]!.split(" ")[2]!);
    }
    for (const key of plainKeys) await plain.send([`GMPW01 FINAL ${key} 200`, "ok"]);
    expect((await Promise.all(plainBurst)).every((a) => a.status === 200)).toBe(true);
    raw.close();
    plain.close();
  });

  it("answers a client's BATCH of requests, batches replies only to a client that sent one, and drops a broken client BATCH", async () => {
    broker = await startBroker(transport);
    track(await startWorker(broker, { concurrency: 64, services: { "t.echo": (r) => r.body } }));
    const replies = async (raw: zmq.Dealer, n: number) => {
      const got = new Map<string, string>();
      let batches = 0;
      while (got.size < n) {
        const msg = await receiveWithin(raw);
        const inner = unbatch(msg, 0, "GMPC01");
        if (!Array.isArray(inner)) throw new Error(inner.reason);
        if (inner.length > 1) batches += 1;
        for (const m of inner) {
          const t = text(m);
          if (t[0]!.startsWith("GMPC01 FINAL")) got.set(t[0]!.split(" ")[2]!, t[1]!);
        }
      }
      return { got, batches };
    };
    const request = (id: string) => [`GMPC01 REQUEST ${id} t.echo 0 1 -`, `body-${id}`];

    const batcher = new zmq.Dealer({ linger: 0 });
    batcher.connect(broker.endpoints.frontend);
    await batcher.send(["GMPC01 HEARTBEAT"]);
    expect(text(await receiveWithin(batcher))).toEqual(["GMPC01 HEARTBEAT batch"]);
    const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    await batcher.send([`GMPC01 BATCH ${ids.length}`, packMessages(ids.map(request))]);
    const fromBatch = await replies(batcher, ids.length);
    for (const id of ids) expect(fromBatch.got.get(id)).toBe(`body-${id}`);
    expect(fromBatch.batches).toBeGreaterThan(0);

    const plain = new zmq.Dealer({ linger: 0 });
    plain.connect(broker.endpoints.frontend);
    const plainIds = Array.from({ length: 40 }, (_, i) => `p${i}`);
    for (const id of plainIds) await plain.send(request(id));
    const fromPlain = await replies(plain, plainIds.length);
    expect(fromPlain.batches).toBe(0);
    for (const id of plainIds) expect(fromPlain.got.get(id)).toBe(`body-${id}`);

    const malformedBefore = broker.counters.malformedFrontend;
    await batcher.send(["GMPC01 BATCH 3", packMessages([request("x1"), request("x2")])]);
    await batcher.send(request("after"));
    expect((await replies(batcher, 1)).got.get("after")).toBe("body-after");
    expect(broker.counters.malformedFrontend).toBe(malformedBefore + 1);
    batcher.close();
    plain.close();
  });

  it("carries messages with more frames than a BATCH holds, in both directions, beside batched ones", async () => {
    broker = await startBroker(transport);
    track(await startWorker(broker, { concurrency: 16, services: { "t.frames": (r) => r.body } }));
    const client = track(startClient(broker));
    await client.request("t.frames", "warm"); // the client learns that the broker batches
    const many = Array.from({ length: 1500 }, (_, i) => Buffer.from(`f${i}`));
    const replies = await Promise.all([
      client.request("t.frames", "small-1"),
      client.request("t.frames", many),
      client.request("t.frames", "small-2"),
      client.request("t.frames", many),
      client.request("t.frames", "small-3"),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replies[0].body.map(String)).toEqual(["small-1"]);
    expect(replies[1].body.map(String)).toEqual(many.map(String));
    expect(replies[3].body).toHaveLength(1500);
    expect(replies[4].body.map(String)).toEqual(["small-3"]);
    expect(broker.counters.malformedFrontend + broker.counters.malformedBackend).toBe(0);
  });

  it("disconnects a worker whose BATCH does not hold its count, or holds a BATCH", async () => {
    broker = await startBroker(transport);
    for (const bad of [
      ["GMPW01 BATCH 3", packMessages([["GMPW01 HEARTBEAT"], ["GMPW01 HEARTBEAT"]])],
      [
        "GMPW01 BATCH 2",
        packMessages([
          ["GMPW01 HEARTBEAT"],
          ["GMPW01 BATCH 2", packMessages([["GMPW01 HEARTBEAT"], ["GMPW01 HEARTBEAT"]])],
        ]),
      ],
    ]) {
      const raw = new zmq.Dealer({ linger: 0 });
      raw.connect(broker.endpoints.backend);
      await raw.send(["GMPW01 UP 2 t.bad +batch"]);
      await receiveWithin(raw);
      await raw.send(bad);
      const reply = text(await receiveWithin(raw));
      expect(reply[0]).toBe("GMPW01 DISCONNECT");
      expect(reply[1]).toMatch(/malformed/);
      raw.close();
    }
    expect(broker.counters.malformedBackend).toBe(2);
  });

  it("re-dispatches reads and fails writes with 503 when a GMP worker dies; a dead worker's late reply is dropped", async () => {
    broker = await startBroker(transport);
    // A raw worker that takes requests and goes silent.
    const zombie = new zmq.Dealer({ linger: 0 });
    zombie.connect(broker.endpoints.backend);
    await zombie.send(["GMPW01 UP 4 t.read place.upsert"]);
    await receiveWithin(zombie);
    const client = track(startClient(broker));
    const read = client.request("t.read", "r");
    const write = client.request("place.upsert", "w");
    const keys: string[] = [];
    while (keys.length < 2) {
      const m = text(await receiveWithin(zombie));
      if (m[0]!.includes("REQUEST")) keys.push(m[0]!.split(" ")[2]!);
    }
    const good = track(
      await startWorker(broker, { services: { "t.read": () => "from good worker" } }),
    );
    expect(good.connected).toBe(true);
    // The zombie stops heartbeating; the broker expires it.
    expect((await write).status).toBe(503);
    expect((await read).body.map(String)).toEqual(["from good worker"]);
    // Its late reply must not reach anyone.
    await zombie.send([`GMPW01 FINAL ${keys[0]} 200`, "stale"]);
    await sleep(50);
    expect(broker.status().counters.lateReplies).toBeGreaterThanOrEqual(1);
    zombie.close();
  });

  it("drains in-flight work on stop, then refuses new requests", async () => {
    broker = await startBroker(transport);
    track(
      await startWorker(broker, {
        services: { "t.slow": async () => (await sleep(150), "finished") },
      }),
    );
    const client = track(startClient(broker));
    const inflight = client.request("t.slow", "");
    await sleep(30);
    const stopping = broker.stop(2000);
    expect((await inflight).body.map(String)).toEqual(["finished"]);
    await stopping;
  });
});

describe("worker reconnect", () => {
  it("reconnects with doubling backoff while the broker is away and re-registers when it returns", async () => {
    const { Broker } = await import("./broker.js");
    const { Worker } = await import("./worker.js");
    const { Client } = await import("./client.js");
    const probe = new Broker({
      frontend: "tcp://127.0.0.1:*",
      backend: "tcp://127.0.0.1:*",
      heartbeat: FAST_HEARTBEAT,
    });
    await probe.start();
    const { frontend, backend } = probe.endpoints;
    const worker = new Worker({
      endpoint: backend,
      services: { "sys.echo": (r) => r.body },
      heartbeat: FAST_HEARTBEAT,
      reconnect: { initialMs: 50, maxMs: 200 },
    });
    worker.start();
    await worker.ready();
    await probe.stop(0);
    await waitFor(() => worker.counters.reconnects >= 1, 5000, "first reconnect");
    expect(worker.nextBackoffMs).toBe(100);
    await waitFor(() => worker.counters.reconnects >= 4, 5000, "reconnect attempts");
    expect(worker.nextBackoffMs).toBe(200); // capped at maxMs
    expect(worker.connected).toBe(false);
    const again = new Broker({ frontend, backend, heartbeat: FAST_HEARTBEAT });
    await again.start();
    await worker.ready(5000);
    const client = new Client({ endpoint: frontend, heartbeat: FAST_HEARTBEAT });
    expect((await client.request("sys.echo", "back")).body.map(String)).toEqual(["back"]);
    await client.close();
    await worker.stop(0);
    await again.stop(0);
  });
});
