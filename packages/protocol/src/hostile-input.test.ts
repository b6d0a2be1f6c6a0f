import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import type { Broker } from "./broker.js";
import { packMessages } from "./batch.js";
import {
  parseBackend,
  parseBrokerToClient,
  parseBrokerToWorker,
  parseFrontend,
  unbatch,
} from "./codec.js";
import { waitFor } from "./testing/index.js";
import { startBroker, startClient, startWorker } from "./testing/fixtures.js";

/** Frames biased towards almost-valid messages, which reach deeper into the parsers. */
const frameArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc
    .constantFrom(
      "",
      "MDPC01",
      "MDPW01",
      "\x01",
      "\x02",
      "\x03",
      "\x04",
      "\x05",
      "sys.echo",
      "mmi.service",
    )
    .map((s) => Buffer.from(s, "latin1")),
  fc
    .tuple(
      fc.constantFrom("GMPC01", "GMPW01", "gmpc01", "GMPC02"),
      fc.constantFrom(
        "REQUEST",
        "request",
        "UP",
        "FINAL",
        "PARTIAL",
        "HEARTBEAT",
        "CANCEL",
        "DOWN",
        "DISCONNECT",
        "BATCH",
        "batch",
        "X",
      ),
      fc.array(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.nat().map(String),
          fc.constantFrom("-", "200", "sys.echo", "99999999999"),
        ),
        { maxLength: 7 },
      ),
    )
    .map(([h, v, args]) => Buffer.from([h, v, ...args].join(" "), "latin1")),
);
/** A BATCH command and a packed frame: well formed, cut short, padded or with a wrong count. */
const batchArb = fc
  .tuple(
    fc.array(fc.array(frameArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
    fc.integer({ min: -2, max: 2 }),
    fc.integer({ min: -6, max: 3 }),
  )
  .map(([messages, countSkew, cut]) => {
    const packed = packMessages(messages);
    const body =
      cut < 0
        ? packed.subarray(0, Math.max(0, packed.length + cut))
        : Buffer.concat([packed, Buffer.alloc(cut)]);
    return [Buffer.from(`GMPW01 BATCH ${messages.length + countSkew}`, "latin1"), body];
  });
const messageArb = fc.oneof(fc.array(frameArb, { minLength: 0, maxLength: 10 }), batchArb);

describe("parsers", () => {
  it("never throw on random multipart messages", () => {
    fc.assert(
      fc.property(messageArb, (frames) => {
        for (const parse of [
          parseFrontend,
          parseBackend,
          parseBrokerToWorker,
          parseBrokerToClient,
        ]) {
          const result = parse(frames);
          expect(typeof result.kind).toBe("string");
        }
        const messages = unbatch(frames);
        if (Array.isArray(messages)) expect(messages.length).toBeGreaterThan(0);
        else expect(messages.kind).toBe("malformed");
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("a live broker under hostile input", () => {
  let broker: Broker | undefined;
  afterEach(async () => {
    await broker?.stop(0);
    broker = undefined;
  });

  it("keeps serving after thousands of random messages on its frontend and backend", async () => {
    broker = await startBroker("tcp");
    const worker = await startWorker(broker, {
      concurrency: 4,
      services: { "sys.echo": (r) => r.body },
    });
    const client = startClient(broker);
    const front = new zmq.Dealer({ linger: 0, sendTimeout: 0 });
    const back = new zmq.Dealer({ linger: 0, sendTimeout: 0 });
    front.connect(broker.endpoints.frontend);
    back.connect(broker.endpoints.backend);
    const messages = fc.sample(messageArb, { numRuns: 3000, seed: 42 });
    let sent = 0;
    for (const [i, m] of messages.entries()) {
      const socket = i % 2 === 0 ? front : back;
      if (m.length === 0) continue;
      try {
        await socket.send(m);
        sent += 1;
      } catch {
        // A full queue is fine: the point is what the broker does with what arrives.
      }
      if (i % 500 === 0) expect((await client.request("sys.echo", `alive ${i}`)).status).toBe(200);
    }
    expect(sent).toBeGreaterThan(2500);
    await waitFor(
      () =>
        broker!.status().counters.malformedFrontend + broker!.status().counters.malformedBackend >
        500,
      5000,
      "malformed counted",
    );
    const reply = await client.request("sys.echo", "still here");
    expect(reply.body.map(String)).toEqual(["still here"]);
    expect(broker.status().workers.some((w) => w.services.includes("sys.echo"))).toBe(true);
    front.close();
    back.close();
    await client.close();
    await worker.stop(0);
  });

  it("drops a 64 MiB message (over maxMessageSize) and keeps serving", async () => {
    broker = await startBroker("tcp", { limits: { maxMessageBytes: 1024 * 1024 } });
    const worker = await startWorker(broker, { services: { "sys.echo": (r) => r.body } });
    const client = startClient(broker);
    const big = new zmq.Dealer({ linger: 0 });
    big.connect(broker.endpoints.frontend);
    await big.send(["", "MDPC01", "sys.echo", Buffer.alloc(64 * 1024 * 1024, 7)]);
    await new Promise((r) => setTimeout(r, 300));
    expect((await client.request("sys.echo", "ok")).body.map(String)).toEqual(["ok"]);
    expect(broker.status().counters.requests).toBe(1); // the huge one never became a request
    // The project's own client refuses oversized bodies before sending.
    const own = startClient(broker, { limits: { maxMessageBytes: 1024 * 1024 } });
    await expect(own.request("sys.echo", Buffer.alloc(2 * 1024 * 1024))).rejects.toMatchObject({
      code: "LIMIT_EXCEEDED",
    });
    big.close();
    await own.close();
    await client.close();
    await worker.stop(0);
  });

  it("disconnects a registered worker that sends garbage and moves its work elsewhere", async () => {
    broker = await startBroker("tcp");
    const raw = new zmq.Dealer({ linger: 0 });
    raw.connect(broker.endpoints.backend);
    await raw.send(["GMPW01 UP 1 sys.echo"]);
    await raw.receive();
    const client = startClient(broker);
    const pending = client.request("sys.echo", "x");
    await raw.receive(); // its REQUEST
    const good = await startWorker(broker, { services: { "sys.echo": (r) => r.body } });
    await raw.send(["GMPW01 FINAL"]); // malformed: no key or status
    const reply = await pending;
    expect(reply.body.map(String)).toEqual(["x"]);
    expect(broker.status().counters.workersDisconnected).toBe(1);
    const bye = await raw.receive();
    expect(bye[0]!.toString()).toBe("GMPW01 DISCONNECT");
    raw.close();
    await client.close();
    await good.stop(0);
  });
});
