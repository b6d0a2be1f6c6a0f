import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { MAX_BATCH_MESSAGES, packMessages, SendBatcher, unpackMessages } from "./batch.js";
import { type OutFrame, unbatch } from "./codec.js";
import { uniqueAddress, waitFor } from "./testing/index.js";
import { receiveWithin, text } from "./testing/fixtures.js";
import { Client } from "./client.js";
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

describe("unbatch", () => {
  const batch = (head: string, messages: OutFrame[][]): Buffer[] => [
    Buffer.from(head, "latin1"),
    packMessages(messages),
  ];

  it("unpacks a BATCH in any case of the verb and leaves other messages alone", () => {
    const messages = [["GMPW01 FINAL k1 200", "a"], ["GMPW01 HEARTBEAT"]];
    expect(unbatch(batch("GMPW01 BATCH 2", messages))).toEqual(messages.map(asBuffers));
    expect(unbatch(batch("GMPW01 batch 2", messages))).toEqual(messages.map(asBuffers));
    expect(unbatch([Buffer.from("identity"), ...batch("GMPW01 BATCH 2", messages)], 1)).toEqual(
      messages.map(asBuffers),
    );
    // Anything else is the one message it is (parsed, and judged, as such).
    for (const frames of [
      [Buffer.from("GMPW01 FINAL k 200"), Buffer.from("x")],
      [Buffer.from("GMPW01 BATCHES 2"), Buffer.from("x")],
      batch("GMPC01 BATCH 2", messages),
      [],
    ])
      expect(unbatch(frames)).toEqual([frames]);
    const withId = [Buffer.from("id"), Buffer.from("GMPW01 HEARTBEAT")];
    expect(unbatch(withId, 1)).toEqual([withId.slice(1)]);
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
      expect(unbatch(frames)).toMatchObject({ kind: "malformed" });
  });
});

describe("SendBatcher", () => {
  it("sends a turn's first message to a peer at once and the rest of the turn as one BATCH, in order", async () => {
    const sent: [string, OutFrame[]][] = [];
    const batcher = new SendBatcher<string>("GMPW01", (dest, f) => sent.push([dest, f]));
    batcher.push("a", "A", ["GMPW01 REQUEST k1 s 0 1 -", Buffer.from("one")]);
    batcher.push("b", "B", ["GMPW01 HEARTBEAT"]);
    batcher.push("a", "A", ["GMPW01 CANCEL k0"]);
    batcher.push("a", "A", ["GMPW01 REQUEST k2 s 0 1 -", "two"]);
    batcher.push("b", "B", ["GMPW01 HEARTBEAT 2"]);
    expect(sent).toEqual([
      ["A", ["GMPW01 REQUEST k1 s 0 1 -", Buffer.from("one")]],
      ["B", ["GMPW01 HEARTBEAT"]],
    ]);
    await nextTurn();
    expect(sent).toHaveLength(4);
    const toA = sent.find(([dest], i) => i >= 2 && dest === "A")![1];
    expect(unbatch(asBuffers(toA))).toEqual(
      [["GMPW01 CANCEL k0"], ["GMPW01 REQUEST k2 s 0 1 -", "two"]].map(asBuffers),
    );
    expect(sent.find(([dest], i) => i >= 2 && dest === "B")![1]).toEqual(["GMPW01 HEARTBEAT 2"]);
    // A new turn: its first message goes at once again, and nothing is left over.
    batcher.push("a", "A", ["GMPW01 HEARTBEAT"]);
    expect(sent).toHaveLength(5);
    await nextTurn();
    expect(sent).toHaveLength(5);
  });

  it("keeps every BATCH under 2 MiB: a queue goes at 1 MiB, a message of 1 MiB or more alone", async () => {
    const sent: OutFrame[][] = [];
    const batcher = new SendBatcher<undefined>("GMPW01", (_, f) => sent.push(f));
    const part = (n: number) => ["GMPW01 FINAL k 200", Buffer.alloc(n)];
    batcher.push("x", undefined, part(10)); // the turn's first: alone
    batcher.push("x", undefined, part(900 << 10));
    batcher.push("x", undefined, part(15 << 20)); // alone, after the queued 900 KiB
    batcher.push("x", undefined, part(600 << 10));
    batcher.push("x", undefined, part(600 << 10)); // 1.2 MiB queued: sent at once
    batcher.push("x", undefined, part(10));
    await nextTurn();
    const sizes = sent.map((f) => asBuffers(f).reduce((n, b) => n + b.length, 0));
    expect(sent.map((f) => f.length)).toEqual([2, 2, 2, 2, 2]);
    expect(sizes.every((n, i) => i === 2 || n < 2 << 20)).toBe(true);
    expect(sizes[2]).toBeGreaterThan(15 << 20);
    expect(text(asBuffers(sent[3]!))[0]).toBe("GMPW01 BATCH 2");
  });

  it("sends a message with more frames than a BATCH carries alone, after what the turn queued", async () => {
    const sent: OutFrame[][] = [];
    const batcher = new SendBatcher<undefined>("GMPC01", (_, f) => sent.push(f));
    const big = [
      "GMPC01 REQUEST p1 broker.publish@ne 0 0 -",
      ...Array.from({ length: 2000 }, String),
    ];
    batcher.push("x", undefined, ["GMPC01 REQUEST a s 0 1 -"]);
    batcher.push("x", undefined, ["GMPC01 REQUEST b s 0 1 -"]);
    batcher.push("x", undefined, ["GMPC01 REQUEST c s 0 1 -"]);
    batcher.push("x", undefined, big);
    batcher.push("x", undefined, ["GMPC01 REQUEST d s 0 1 -"]);
    batcher.push("x", undefined, ["GMPC01 REQUEST e s 0 1 -"]);
    await nextTurn();
    expect(sent.map((f) => text(asBuffers(f))[0])).toEqual([
      "GMPC01 REQUEST a s 0 1 -",
      "GMPC01 BATCH 2",
      "GMPC01 REQUEST p1 broker.publish@ne 0 0 -",
      "GMPC01 BATCH 2",
    ]);
    expect(sent[2]).toHaveLength(2001);
    // Alone as the turn's first message too.
    sent.length = 0;
    batcher.push("y", undefined, big);
    batcher.push("y", undefined, ["GMPC01 REQUEST f s 0 1 -"]);
    await nextTurn();
    expect(sent.map((f) => f.length)).toEqual([2001, 1]);
  });

  it("sends a full queue at once, flushes on demand, forgets on clear and reports send errors per message", () => {
    const sent: OutFrame[][] = [];
    const errors: string[] = [];
    const batcher = new SendBatcher<undefined>("GMPW01", (_, f, onErrors) => {
      sent.push(f);
      for (const onError of onErrors) onError(new Error(`failed ${sent.length}`));
    });
    batcher.push("x", undefined, ["GMPW01 HEARTBEAT"], (e) => errors.push(`first: ${e.message}`));
    for (let i = 0; i < MAX_BATCH_MESSAGES; i++)
      batcher.push("x", undefined, [`GMPW01 FINAL k${i} 200`], (e) => errors.push(e.message));
    expect(sent).toHaveLength(2);
    expect(unbatch(asBuffers(sent[1]!))).toHaveLength(MAX_BATCH_MESSAGES);
    expect(errors).toHaveLength(1 + MAX_BATCH_MESSAGES);
    expect(errors[0]).toBe("first: failed 1");
    expect(errors[1]).toBe("failed 2");
    // A message of 1 MiB or more goes alone; smaller ones fill a BATCH up to 1 MiB.
    batcher.push("x", undefined, [`GMPW01 FINAL big 200`, Buffer.alloc(2 << 20)]);
    expect(sent).toHaveLength(3);
    expect(sent[2]).toHaveLength(2);
    batcher.push("x", undefined, ["GMPW01 HEARTBEAT"]);
    batcher.flush();
    expect(sent[3]).toEqual(["GMPW01 HEARTBEAT"]);
    batcher.push("x", undefined, ["GMPW01 HEARTBEAT"]);
    batcher.push("x", undefined, ["GMPW01 HEARTBEAT"]);
    batcher.clear();
    batcher.flush();
    expect(sent).toHaveLength(5);
  });
});

describe("a Worker facing a raw broker", () => {
  const requests = [0, 1, 2].map((i) => [`GMPW01 REQUEST k${i} t.echo 0 1 -`, `m${i}`]);

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
      await router.send([id, "GMPW01 BATCH 3", packMessages(requests)]);
      // The turn's first reply at once, the other two as one BATCH at its end.
      expect(text((await receiveWithin(router)).slice(1))).toEqual(["GMPW01 FINAL k0 200", "m0"]);
      const [, ...rest] = await receiveWithin(router);
      expect(text(rest)[0]).toBe("GMPW01 BATCH 2");
      expect((unbatch(rest) as Buffer[][]).map(text)).toEqual([
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

describe("a Client facing a raw broker", () => {
  async function rawBroker(batch?: boolean) {
    const router = new zmq.Router({ linger: 0 });
    const endpoint = uniqueAddress("inproc", "raw-frontend");
    await router.bind(endpoint);
    const client = new Client({ endpoint, ...(batch === undefined ? {} : { batch }) });
    return { router, client };
  }

  /** Receives until `n` requests arrived; returns them and how many messages were BATCHes. */
  async function requests(router: zmq.Router, n: number) {
    const got: { id: Buffer; frames: string[] }[] = [];
    let batches = 0;
    while (got.length < n) {
      const [id, ...frames] = await receiveWithin(router);
      const inner = unbatch(frames, 0, "GMPC01");
      if (!Array.isArray(inner)) throw new Error(inner.reason);
      if (inner.length > 1) batches += 1;
      for (const m of inner) {
        const t = text(m);
        if (t[0]!.startsWith("GMPC01 REQUEST")) got.push({ id: id!, frames: t });
      }
    }
    return { got, batches };
  }

  it("asks at connect, then sends a turn's requests as a BATCH and reads a BATCH of replies", async () => {
    const { router, client } = await rawBroker();
    try {
      const warm = client.request("t.echo", "warm");
      const [id, hb] = await receiveWithin(router);
      expect(hb!.toString()).toBe("GMPC01 HEARTBEAT");
      await router.send([id!, "GMPC01 HEARTBEAT batch"]);
      const first = (await requests(router, 1)).got[0]!;
      await router.send([id!, `GMPC01 FINAL ${first.frames[0]!.split(" ")[2]} 200`, "w"]);
      await warm;
      const burst = Array.from({ length: 5 }, (_, i) => client.request("t.echo", `b${i}`));
      const { got, batches } = await requests(router, 5);
      expect(batches).toBe(1);
      expect(got.map((r) => r.frames[1])).toEqual(["b0", "b1", "b2", "b3", "b4"]);
      const finals = got.map((r) => [
        `GMPC01 FINAL ${r.frames[0]!.split(" ")[2]} 200`,
        `re:${r.frames[1]}`,
      ]);
      await router.send([id!, `GMPC01 BATCH ${finals.length}`, packMessages(finals)]);
      expect((await Promise.all(burst)).map((r) => r.body.toString())).toEqual(
        ["b0", "b1", "b2", "b3", "b4"].map((b) => `re:${b}`),
      );
    } finally {
      await client.close();
      router.close();
    }
  });

  it("sends every request as itself to a broker that does not say batch, or with batch: false", async () => {
    for (const batch of [undefined, false]) {
      const { router, client } = await rawBroker(batch);
      try {
        // Never answered: closing the client fails them.
        for (let i = 0; i < 5; i++) client.request("t.echo", `b${i}`).catch(() => undefined);
        const [id, firstFrame] = await receiveWithin(router);
        if (batch === false) expect(firstFrame!.toString()).toMatch(/^GMPC01 REQUEST /);
        else {
          expect(firstFrame!.toString()).toBe("GMPC01 HEARTBEAT");
          await router.send([id!, "GMPC01 HEARTBEAT"]);
        }
        const { got, batches } = await requests(router, batch === false ? 4 : 5);
        expect(batches).toBe(0);
        expect(got.length).toBeGreaterThanOrEqual(4);
      } finally {
        await client.close();
        router.close();
      }
    }
  });
});
