import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { MAX_BATCH_MESSAGES, packMessages, SendBatcher, unpackMessages } from "./batch.js";
import { type OutFrame, parseBatch } from "./codec.js";
import { uniqueAddress, waitFor } from "./testing/index.js";
import { receiveWithin, text } from "./testing/fixtures.js";
import { Worker } from "./worker.js";

const frames = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 40, unit: "grapheme" }),
  ),
  { minLength: 1, maxLength: 6 },
);
const asBuffers = (m: readonly OutFrame[]): Buffer[] =>
  m.map((f) => (typeof f === "string" ? Buffer.from(f, "utf8") : f));

/** Runs the batcher's end-of-turn flush. */
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("packMessages / unpackMessages", () => {
  it("gives back every message and frame, empty frames and UTF-8 strings included", () => {
    fc.assert(
      fc.property(fc.array(frames, { minLength: 1, maxLength: 20 }), (messages) => {
        const unpacked = unpackMessages(packMessages(messages), messages.length);
        expect(unpacked).toEqual(messages.map(asBuffers));
      }),
      { numRuns: 500 },
    );
  });

  it("refuses anything but exactly the count of well-formed messages, and never throws", () => {
    fc.assert(
      fc.property(fc.array(frames, { minLength: 1, maxLength: 6 }), fc.nat(), (messages, at) => {
        const packed = packMessages(messages);
        const n = messages.length;
        expect(unpackMessages(packed.subarray(0, at % packed.length), n)).toBeUndefined();
        expect(unpackMessages(Buffer.concat([packed, Buffer.from([0])]), n)).toBeUndefined();
        expect(unpackMessages(packed, n + 1)).toBeUndefined();
        if (n > 1) expect(unpackMessages(packed, n - 1)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 2000 }), (bytes, n) => {
        const out = unpackMessages(Buffer.from(bytes), n);
        if (out !== undefined) expect(out).toHaveLength(n);
      }),
      { numRuns: 2000 },
    );
    // A message of no frames, and a length running past the end.
    expect(unpackMessages(Buffer.from([0, 0, 0, 0]), 1)).toBeUndefined();
    expect(unpackMessages(Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 1]), 1)).toBeUndefined();
  });
});

describe("parseBatch", () => {
  const batch = (head: string, messages: OutFrame[][]): Buffer[] => [
    Buffer.from(head, "latin1"),
    packMessages(messages),
  ];

  it("unpacks a BATCH in any case of the verb and leaves other messages alone", () => {
    const messages = [["GMPW01 FINAL k1 200", "a"], ["GMPW01 HEARTBEAT"]];
    expect(parseBatch(batch("GMPW01 BATCH 2", messages))).toEqual(messages.map(asBuffers));
    expect(parseBatch(batch("GMPW01 batch 2", messages))).toEqual(messages.map(asBuffers));
    expect(parseBatch([Buffer.from("identity"), ...batch("GMPW01 BATCH 2", messages)], 1)).toEqual(
      messages.map(asBuffers),
    );
    expect(parseBatch([Buffer.from("GMPW01 FINAL k 200"), Buffer.from("x")])).toBeUndefined();
    expect(parseBatch([Buffer.from("GMPW01 BATCHES 2"), Buffer.from("x")])).toBeUndefined();
    expect(parseBatch(batch("GMPC01 BATCH 2", messages))).toBeUndefined();
    expect(parseBatch([])).toBeUndefined();
  });

  it("calls a BATCH malformed when its count, frames or packing are wrong", () => {
    const two = [["GMPW01 HEARTBEAT"], ["GMPW01 HEARTBEAT"]];
    for (const frames of [
      batch("GMPW01 BATCH 3", two),
      batch("GMPW01 BATCH 1", [["GMPW01 HEARTBEAT"]]),
      batch(`GMPW01 BATCH ${MAX_BATCH_MESSAGES + 1}`, two),
      batch("GMPW01 BATCH 2 extra", two),
      batch("GMPW01 BATCH two", two),
      [...batch("GMPW01 BATCH 2", two), Buffer.from("trailing frame")],
      [Buffer.from("GMPW01 BATCH 2")],
    ])
      expect(parseBatch(frames)).toMatchObject({ kind: "malformed" });
  });
});

describe("SendBatcher", () => {
  it("sends what one turn queued to a peer as one BATCH, in order, and a lone message as itself", async () => {
    const sent: [string, OutFrame[]][] = [];
    const batcher = new SendBatcher<string>("GMPW01", (dest, f) => sent.push([dest, f]));
    batcher.push("a", "A", ["GMPW01 REQUEST k1 s 0 1 -", Buffer.from("one")]);
    batcher.push("b", "B", ["GMPW01 HEARTBEAT"]);
    batcher.push("a", "A", ["GMPW01 CANCEL k0"]);
    batcher.push("a", "A", ["GMPW01 REQUEST k2 s 0 1 -", "two"]);
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent.map(([dest]) => dest).sort()).toEqual(["A", "B"]);
    const toA = sent.find(([dest]) => dest === "A")![1];
    expect(parseBatch(asBuffers(toA))).toEqual(
      [
        ["GMPW01 REQUEST k1 s 0 1 -", "one"],
        ["GMPW01 CANCEL k0"],
        ["GMPW01 REQUEST k2 s 0 1 -", "two"],
      ].map(asBuffers),
    );
    expect(sent.find(([dest]) => dest === "B")![1]).toEqual(["GMPW01 HEARTBEAT"]);
    sent.length = 0;
    await nextTurn();
    expect(sent).toEqual([]);
  });

  it("sends a full queue at once, flushes on demand and forgets on clear", () => {
    const sent: OutFrame[][] = [];
    const batcher = new SendBatcher<undefined>("GMPW01", (_, f) => sent.push(f));
    for (let i = 0; i < MAX_BATCH_MESSAGES; i++)
      batcher.push("x", undefined, [`GMPW01 FINAL k${i} 200`]);
    expect(sent).toHaveLength(1);
    expect(parseBatch(asBuffers(sent[0]!))).toHaveLength(MAX_BATCH_MESSAGES);
    batcher.push("x", undefined, [`GMPW01 FINAL big 200`, Buffer.alloc(2 << 20)]);
    expect(sent).toHaveLength(2);
    batcher.push("x", undefined, ["GMPW01 HEARTBEAT"]);
    batcher.flush();
    expect(sent[2]).toEqual(["GMPW01 HEARTBEAT"]);
    batcher.push("x", undefined, ["GMPW01 HEARTBEAT"]);
    batcher.clear();
    batcher.flush();
    expect(sent).toHaveLength(3);
  });
});

describe("a Worker facing a raw broker", () => {
  /** A ROUTER playing broker; returns what the worker said in UP and the worker's identity. */
  async function rawBroker(
    batch: boolean | undefined,
  ): Promise<{ router: zmq.Router; worker: Worker; up: string; id: Buffer }> {
    const router = new zmq.Router({ linger: 0 });
    const endpoint = uniqueAddress("inproc", "raw-broker");
    await router.bind(endpoint);
    const worker = new Worker({
      endpoint,
      concurrency: 8,
      services: { "t.echo": (r) => r.body },
      ...(batch === undefined ? {} : { batch }),
    });
    worker.start();
    const [id, up] = await receiveWithin(router);
    await router.send([id!, "GMPW01 UP 200 1000 3 batch"]);
    await worker.ready();
    return { router, worker, up: up!.toString("latin1"), id: id! };
  }

  it("offers +batch, runs every REQUEST of a BATCH, answers them as a BATCH, and counts a broken one as malformed", async () => {
    const { router, worker, up, id } = await rawBroker(undefined);
    try {
      expect(up).toBe("GMPW01 UP 8 t.echo +batch");
      const requests = [0, 1, 2].map((i) => [`GMPW01 REQUEST k${i} t.echo 0 1 -`, `m${i}`]);
      await router.send([id, "GMPW01 BATCH 3", packMessages(requests)]);
      const [, ...reply] = await receiveWithin(router);
      expect(text(reply)[0]).toBe("GMPW01 BATCH 3");
      expect((parseBatch(reply) as Buffer[][]).map(text)).toEqual([
        ["GMPW01 FINAL k0 200", "m0"],
        ["GMPW01 FINAL k1 200", "m1"],
        ["GMPW01 FINAL k2 200", "m2"],
      ]);
      await router.send([id, "GMPW01 BATCH 2", packMessages(requests.slice(0, 1))]);
      await waitFor(() => worker.counters.malformed === 1);
      await router.send([id, "GMPW01 REQUEST k9 t.echo 0 1 -", "after"]);
      expect(text((await receiveWithin(router)).slice(1))).toEqual([
        "GMPW01 FINAL k9 200",
        "after",
      ]);
    } finally {
      await worker.stop(0);
      router.close();
    }
  });

  it("with batch: false offers no +batch and sends every reply as itself", async () => {
    const { router, worker, up, id } = await rawBroker(false);
    try {
      expect(up).toBe("GMPW01 UP 8 t.echo");
      const requests = [0, 1, 2].map((i) => [`GMPW01 REQUEST k${i} t.echo 0 1 -`, `m${i}`]);
      await router.send([id, "GMPW01 BATCH 3", packMessages(requests)]);
      for (let i = 0; i < 3; i++)
        expect(text((await receiveWithin(router)).slice(1))).toEqual([
          `GMPW01 FINAL k${i} 200`,
          `m${i}`,
        ]);
    } finally {
      await worker.stop(0);
      router.close();
    }
  });
});
