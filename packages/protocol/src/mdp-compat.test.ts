/**
 * 7/MDP (Majordomo 0.1) compatibility, driven by raw zeromq sockets that speak the RFC frame
 * by frame — not by the project's own client/worker classes.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import type { Broker } from "./broker.js";
import { TRANSPORTS, waitFor } from "./testing/index.js";
import { FAST_HEARTBEAT, receiveWithin, startBroker, text } from "./testing/fixtures.js";

const READY = Buffer.from([0x01]);
const REQUEST = 0x02;
const REPLY = Buffer.from([0x03]);
const HEARTBEAT = Buffer.from([0x04]);
const DISCONNECT = 0x05;

/** A stock 7/MDP worker: DEALER, READY, answers REQUEST with REPLY echoing the address. */
function stockWorker(
  endpoint: string,
  service: string,
  onRequest: (body: Buffer[]) => Buffer[] | undefined = (b) => b,
) {
  const socket = new zmq.Dealer({ linger: 0 });
  socket.connect(endpoint);
  let closed = false;
  const seen: string[][] = [];
  const run = (async () => {
    await socket.send(["", "MDPW01", READY, service]);
    for await (const msg of socket) {
      seen.push(text(msg));
      // ["", "MDPW01", command, ...]
      expect(msg[0]!.length).toBe(0);
      expect(msg[1]!.toString()).toBe("MDPW01");
      const cmd = msg[2]![0];
      if (cmd === REQUEST) {
        const address = msg[3]!;
        expect(msg[4]!.length).toBe(0);
        const reply = onRequest(msg.slice(5));
        if (reply) await socket.send(["", "MDPW01", REPLY, address, "", ...reply]);
      } else if (cmd === DISCONNECT) {
        break;
      }
    }
  })().catch(() => undefined);
  return {
    socket,
    seen,
    heartbeat: () => socket.send(["", "MDPW01", HEARTBEAT]),
    close: async () => {
      if (closed) return;
      closed = true;
      socket.close();
      await run;
    },
  };
}

describe.each(TRANSPORTS)("7/MDP compatibility over %s", (transport) => {
  let broker: Broker | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await broker?.stop(0);
    broker = undefined;
  });

  it("serves a stock REQ client through a stock worker, frame for frame", async () => {
    broker = await startBroker(transport);
    const worker = stockWorker(broker.endpoints.backend, "echo");
    cleanups.push(worker.close);
    await waitFor(() => broker!.status().workers.length === 1, 2000, "worker READY");
    const req = new zmq.Request({ linger: 0 });
    cleanups.push(() => req.close());
    req.connect(broker.endpoints.frontend);
    await req.send(["MDPC01", "echo", "hello", "world"]);
    expect(text(await receiveWithin(req))).toEqual(["MDPC01", "echo", "hello", "world"]);
  });

  it("serves a DEALER client that sends the empty delimiter itself, many requests pipelined", async () => {
    broker = await startBroker(transport);
    const worker = stockWorker(broker.endpoints.backend, "echo");
    cleanups.push(worker.close);
    const dealer = new zmq.Dealer({ linger: 0 });
    cleanups.push(() => dealer.close());
    dealer.connect(broker.endpoints.frontend);
    for (let i = 0; i < 50; i++) await dealer.send(["", "MDPC01", "echo", `n${i}`]);
    const got: string[] = [];
    for (let i = 0; i < 50; i++) {
      const msg = text(await receiveWithin(dealer));
      expect(msg.slice(0, 3)).toEqual(["", "MDPC01", "echo"]);
      got.push(msg[3]!);
    }
    expect(got.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`).sort());
  });

  it("answers mmi.service with 200 or 404 and other mmi.* with 501", async () => {
    broker = await startBroker(transport);
    const worker = stockWorker(broker.endpoints.backend, "echo");
    cleanups.push(worker.close);
    await waitFor(() => broker!.status().workers.length === 1, 2000, "worker READY");
    const req = new zmq.Request({ linger: 0 });
    cleanups.push(() => req.close());
    req.connect(broker.endpoints.frontend);
    await req.send(["MDPC01", "mmi.service", "echo"]);
    expect(text(await receiveWithin(req))).toEqual(["MDPC01", "mmi.service", "200"]);
    await req.send(["MDPC01", "mmi.service", "nope"]);
    expect(text(await receiveWithin(req))).toEqual(["MDPC01", "mmi.service", "404"]);
    await req.send(["MDPC01", "mmi.whatever", "x"]);
    expect(text(await receiveWithin(req))).toEqual(["MDPC01", "mmi.whatever", "501"]);
  });

  it("treats service names case-insensitively and echoes the client's spelling", async () => {
    broker = await startBroker(transport);
    const worker = stockWorker(broker.endpoints.backend, "Sys.Echo");
    cleanups.push(worker.close);
    const req = new zmq.Request({ linger: 0 });
    cleanups.push(() => req.close());
    req.connect(broker.endpoints.frontend);
    await req.send(["MDPC01", "SYS.ECHO", "x"]);
    expect(text(await receiveWithin(req))).toEqual(["MDPC01", "SYS.ECHO", "x"]);
  });

  it("sends heartbeats to a stock worker and expires it after 3 silent intervals", async () => {
    broker = await startBroker(transport);
    const worker = stockWorker(broker.endpoints.backend, "echo");
    cleanups.push(worker.close);
    await waitFor(() => worker.seen.some((m) => m[2] === "\x04"), 2000, "broker heartbeat");
    // The stock worker never heartbeats: gone within liveness × interval (+ one tick).
    await waitFor(
      () => broker!.status().workers.length === 0,
      FAST_HEARTBEAT.intervalMs * 6,
      "expiry",
    );
    expect(broker.status().counters.workersExpired).toBe(1);
  });

  it("keeps a heartbeating stock worker registered", async () => {
    broker = await startBroker(transport);
    const worker = stockWorker(broker.endpoints.backend, "echo");
    cleanups.push(worker.close);
    const hb = setInterval(() => void worker.heartbeat(), FAST_HEARTBEAT.intervalMs);
    cleanups.push(() => clearInterval(hb));
    await new Promise((r) => setTimeout(r, FAST_HEARTBEAT.intervalMs * 8));
    expect(broker.status().workers.length).toBe(1);
  });

  it("re-dispatches a read to another worker when its worker dies mid-request", async () => {
    broker = await startBroker(transport);
    const silent = stockWorker(broker.endpoints.backend, "echo", () => undefined); // takes it, never answers
    cleanups.push(silent.close);
    await waitFor(() => broker!.status().workers.length === 1, 2000, "first worker");
    const req = new zmq.Request({ linger: 0 });
    cleanups.push(() => req.close());
    req.connect(broker.endpoints.frontend);
    await req.send(["MDPC01", "echo", "again"]);
    await waitFor(() => silent.seen.some((m) => m[2] === "\x02"), 2000, "request delivered");
    const good = stockWorker(broker.endpoints.backend, "echo");
    cleanups.push(good.close);
    const hb = setInterval(() => void good.heartbeat(), FAST_HEARTBEAT.intervalMs);
    cleanups.push(() => clearInterval(hb));
    await silent.close(); // dies without a word
    expect(text(await receiveWithin(req, 3000))).toEqual(["MDPC01", "echo", "again"]);
    expect(broker.status().counters.redispatched).toBe(1);
  });

  it("answers a write with 503 WORKER_LOST instead of re-running it when its worker dies", async () => {
    broker = await startBroker(transport);
    const silent = stockWorker(broker.endpoints.backend, "place.upsert", () => undefined);
    cleanups.push(silent.close);
    await waitFor(() => broker!.status().workers.length === 1, 2000, "worker");
    const req = new zmq.Request({ linger: 0 });
    cleanups.push(() => req.close());
    req.connect(broker.endpoints.frontend);
    await req.send(["MDPC01", "place.upsert", "{}"]);
    await waitFor(() => silent.seen.some((m) => m[2] === "\x02"), 2000, "request delivered");
    await silent.close();
    const reply = text(await receiveWithin(req, 3000));
    expect(reply.slice(0, 2)).toEqual(["MDPC01", "place.upsert"]);
    expect(JSON.parse(reply[2]!)).toMatchObject({ status: 503, error: { code: "WORKER_LOST" } });
  });

  it("disconnects a worker that registers twice and ignores replies from a worker it expired", async () => {
    broker = await startBroker(transport);
    const worker = stockWorker(broker.endpoints.backend, "echo");
    cleanups.push(worker.close);
    await waitFor(() => broker!.status().workers.length === 1, 2000, "worker");
    await worker.socket.send(["", "MDPW01", READY, "echo"]);
    await waitFor(() => worker.seen.some((m) => m[2] === "\x05"), 2000, "DISCONNECT");
    expect(broker.status().workers.length).toBe(0);
    // A reply from the removed worker is not delivered anywhere.
    await worker.socket.send(["", "MDPW01", REPLY, "0", "", "stale"]);
    await waitFor(() => broker!.status().counters.lateReplies === 1, 2000, "late reply counted");
  });
});
