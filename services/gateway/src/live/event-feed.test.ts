import { type PlaceEvent, placeEventOf } from "@geomesh/coordinator";
import { silentLogger } from "@geomesh/logger";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { EventFeed, type FeedMessage } from "./event-feed.js";

/** A region broker's events socket, played by the test over a real XPUB socket. */
async function eventsSocket(): Promise<{ pub: zmq.XPublisher; endpoint: string }> {
  const pub = new zmq.XPublisher({ linger: 0, verbosity: "allSubs" });
  await pub.bind("tcp://127.0.0.1:*");
  return { pub, endpoint: pub.lastEndpoint! };
}

const event = (seq: number): PlaceEvent =>
  placeEventOf("NE", {
    seq,
    kind: "created",
    place: {
      id: `p${seq}`,
      name: `place ${seq}`,
      category: "cafe",
      location: { type: "Point", coordinates: [-74, 40.7] },
      tags: [],
      properties: {},
      updatedAt: "2026-01-01T00:00:00.000Z",
    },
    at: "2026-01-01T00:00:00.000Z",
  });

/** The region's outbox: what `changes.since@NE` answers (seqs absent from `held` were never committed). */
function outbox(held: number[], first = held[0] ?? 0, last = held.at(-1) ?? 0) {
  const calls: [number, number][] = [];
  const read = (_region: string, since: number, limit: number) => {
    calls.push([since, limit]);
    return Promise.resolve({
      events: held
        .filter((s) => s > since)
        .slice(0, limit)
        .map(event),
      first,
      last,
    });
  };
  return { read, calls };
}

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function setup(
  refill?: (region: string, since: number, limit: number) => Promise<unknown>,
  refillTimeoutMs = 1500,
) {
  const { pub, endpoint } = await eventsSocket();
  const got: FeedMessage[] = [];
  const feed = new EventFeed(
    {
      regions: new Map([["NE", endpoint]]),
      logger: silentLogger,
      refillTimeoutMs,
      ...(refill ? { refill } : {}),
    },
    (m) => got.push(m),
  );
  stops.push(() => pub.close());
  stops.push(() => feed.stop());
  feed.start();
  const wanted = feed.want("NE");
  await pub.receive(); // the feed's subscription
  await pub.send(["NE.", "sync", "0"]);
  await wanted;
  const send = (kind: "event" | "tick", seq: number) =>
    pub.send(
      kind === "event"
        ? ["NE.", "event", String(seq), JSON.stringify(event(seq))]
        : ["NE.", "tick", String(seq)],
    );
  return { feed, got, send };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const seqs = (got: FeedMessage[]) =>
  got.map((m) => (m.kind === "event" ? m.event.seq : `gap ${m.from}-${m.to}`));

describe("EventFeed gap refill", () => {
  it("refills a gap in the events from the outbox before delivering later ones", async () => {
    const box = outbox([1, 2, 3, 4, 5, 6]);
    const { got, send, feed } = await setup(box.read);
    await send("event", 1);
    await send("event", 4); // 2 and 3 never reached the broker's socket
    await send("event", 5);
    await send("event", 6);
    await until(() => got.length === 6);
    expect(seqs(got)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(box.calls).toEqual([[1, 2]]);
    expect(feed.counters).toMatchObject({ gaps: 0, refills: 1, refilled: 2, duplicates: 0 });
  });

  it("refills what a tick says was published but never arrived", async () => {
    const box = outbox([1, 2, 3]);
    const { got, send } = await setup(box.read);
    await send("tick", 3);
    await until(() => got.length === 3);
    await send("event", 3); // late copy: a duplicate
    await send("event", 4);
    await until(() => got.length === 4);
    expect(seqs(got)).toEqual([1, 2, 3, 4]);
  });

  it("skips numbers the outbox never held and reports only those it no longer holds", async () => {
    // 1–3 are pruned (the outbox starts at 4); 6 was never committed.
    const box = outbox([4, 5, 7, 8], 4, 8);
    const { got, send, feed } = await setup(box.read);
    await send("event", 8);
    await until(() => got.length === 5);
    expect(seqs(got)).toEqual(["gap 1-3", 4, 5, 7, 8]);
    expect(feed.counters.gaps).toBe(1);
  });

  it("pages through a wide gap", async () => {
    const held = Array.from({ length: 2500 }, (_, i) => i + 1);
    const box = outbox(held);
    const { got, send } = await setup(box.read);
    await send("tick", 2500);
    await until(() => got.length === 2500, 10_000);
    expect(seqs(got)).toEqual(held);
    expect(box.calls.map(([since]) => since)).toEqual([0, 1000, 2000]);
  });

  it("reports the gap when the outbox cannot be read in time, then carries on in order", async () => {
    let calls = 0;
    const { got, send } = await setup(() => {
      calls += 1;
      return Promise.reject(new Error("region down"));
    }, 500);
    await send("event", 3);
    await send("event", 4);
    await until(() => got.length === 3);
    expect(seqs(got)).toEqual(["gap 1-2", 3, 4]);
    expect(calls).toBeGreaterThan(1); // retried until the bound
  });

  it("treats a hostile refill reply as a failure, never delivering what it claims", async () => {
    const replies: unknown[] = [
      null,
      "events",
      { events: "x", first: 0, last: 2 },
      { events: [event(2), event(1)], first: 1, last: 2 }, // out of order
      { events: [{ ...event(1), region: "SW" }], first: 1, last: 2 }, // another region's
      { events: [{ ...event(1), seq: "1" }], first: 1, last: 2 },
      { events: [event(1)], first: -1, last: 2 },
    ];
    let i = 0;
    const { got, send, feed } = await setup(
      () => Promise.resolve(replies[Math.min(i++, replies.length - 1)]),
      2000,
    );
    await send("event", 3);
    await until(() => got.length === 2);
    expect(seqs(got)).toEqual(["gap 1-2", 3]);
    expect(feed.counters.malformed).toBeGreaterThanOrEqual(replies.length - 1);
    expect(feed.counters.refilled).toBe(0);
  });

  it("without a refill source reports a gap at once", async () => {
    const { got, send } = await setup();
    await send("event", 1);
    await send("event", 3);
    await until(() => got.length === 3);
    expect(seqs(got)).toEqual([1, "gap 2-2", 3]);
  });
});
