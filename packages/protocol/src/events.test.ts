/**
 * The events flow of a region broker: `broker.publish@REGION` requests (from workers, after a
 * commit) come out of the owning broker's events XPUB in seq order under the topic `REGION.`; a
 * subscriber gets a `sync` mark when it subscribes and a `tick` every heartbeat.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import {
  BROKER_OUTBOX_PREFIX,
  BROKER_PUBLISH_PREFIX,
  Broker,
  type PeerEndpoints,
} from "./broker.js";
import { Client } from "./client.js";
import { freePorts, waitFor } from "./testing/index.js";
import { FAST_HEARTBEAT } from "./testing/fixtures.js";

const HB = FAST_HEARTBEAT;
const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

interface Node {
  name: string;
  frontend: string;
  backend: string;
  cloud: string;
  state: string;
  events: string;
}

async function cluster(names: string[]): Promise<Node[]> {
  const eps = (await freePorts(names.length * 5)).map((p) => `tcp://127.0.0.1:${p}`);
  const nodes = names.map((name, i) => ({
    name,
    frontend: eps[5 * i]!,
    backend: eps[5 * i + 1]!,
    cloud: eps[5 * i + 2]!,
    state: eps[5 * i + 3]!,
    events: eps[5 * i + 4]!,
  }));
  for (const self of nodes) {
    const peers: PeerEndpoints[] = nodes
      .filter((n) => n !== self)
      .map((n) => ({ name: n.name, cloud: n.cloud, state: n.state }));
    const broker = new Broker({
      name: self.name,
      frontend: self.frontend,
      backend: self.backend,
      heartbeat: HB,
      peering: {
        region: self.name,
        cloud: self.cloud,
        state: self.state,
        events: self.events,
        peers,
      },
    });
    await broker.start();
    stops.push(() => broker.stop(0));
  }
  return nodes;
}

/** A SUB on one broker's events socket collecting `[topic, kind, seq, body?]` messages. */
function subscriber(endpoint: string, topic: string) {
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.connect(endpoint);
  sub.subscribe(topic);
  const got: { topic: string; kind: string; seq: number; body?: string }[] = [];
  void (async () => {
    try {
      for await (const [t, kind, seq, body] of sub)
        got.push({
          topic: String(t),
          kind: String(kind),
          seq: Number(String(seq)),
          ...(body ? { body: String(body) } : {}),
        });
    } catch {
      // closed
    }
  })();
  stops.push(() => sub.close());
  return got;
}

function client(endpoint: string): Client {
  const c = new Client({ endpoint, heartbeat: HB });
  stops.push(() => c.close());
  return c;
}

const publish = (c: Client, region: string, seq: number, body: string) =>
  c.request(`${BROKER_PUBLISH_PREFIX}${region}`, [Buffer.from(String(seq)), Buffer.from(body)], {
    idempotent: true,
  });

describe("region events", () => {
  it("sends a subscriber a sync mark, then ticks, under the region's topic only", async () => {
    const [ne] = await cluster(["NE"]);
    const got = subscriber(ne!.events, "NE.");
    await waitFor(() => got.some((m) => m.kind === "sync"), 3000);
    await waitFor(() => got.some((m) => m.kind === "tick"), 3000);
    expect(got.every((m) => m.topic === "NE." && m.seq === 0)).toBe(true);
  });

  it("publishes events in seq order whatever order the workers' publish requests arrive in", async () => {
    const [ne] = await cluster(["NE"]);
    const got = subscriber(ne!.events, "NE.");
    await waitFor(() => got.some((m) => m.kind === "sync"), 3000);
    const c = client(ne!.frontend);
    for (const seq of [1, 3, 4]) expect((await publish(c, "NE", seq, `e${seq}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(got.filter((m) => m.kind === "event").map((m) => m.seq)).toEqual([1]);
    await publish(c, "NE", 2, "e2");
    await waitFor(() => got.filter((m) => m.kind === "event").length === 4, 3000);
    expect(got.filter((m) => m.kind === "event").map((m) => [m.seq, m.body])).toEqual([
      [1, "e1"],
      [2, "e2"],
      [3, "e3"],
      [4, "e4"],
    ]);
  });

  it("carries a publish sent to any broker to the region's own broker", async () => {
    const [ne, mw] = await cluster(["NE", "MW"]);
    const onNe = subscriber(ne!.events, "NE.");
    const onMw = subscriber(mw!.events, "");
    await waitFor(() => onNe.some((m) => m.kind === "sync"), 3000);
    const c = client(mw!.frontend);
    // MW must first hear NE on the state flow to forward to it; until then it answers 503.
    const until = Date.now() + 5000;
    while ((await publish(c, "NE", 1, "x")).status !== 200) {
      if (Date.now() > until) throw new Error("MW never forwarded the publish to NE");
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => onNe.some((m) => m.kind === "event"), 3000);
    expect(onMw.filter((m) => m.kind === "event")).toEqual([]);
  });

  it("holds events behind a missing number until a re-send names its outbox predecessor", async () => {
    const [ne] = await cluster(["NE"]);
    const got = subscriber(ne!.events, "NE.");
    await waitFor(() => got.some((m) => m.kind === "sync"), 3000);
    const c = client(ne!.frontend);
    await publish(c, "NE", 10, "a");
    await publish(c, "NE", 12, "c");
    await waitFor(() => got.filter((m) => m.kind === "event").length === 1, 3000);
    // Well past the old 500 ms hold: 12 still waits for 11 (a worker may still re-send it).
    await new Promise((r) => setTimeout(r, 800));
    expect(got.filter((m) => m.kind === "event").map((m) => m.seq)).toEqual([10]);
    // A sweep re-sends 12 from the outbox: the change before it there is 10, so 11 never existed.
    const resent = await c.request(
      `${BROKER_PUBLISH_PREFIX}NE`,
      [Buffer.from("12"), Buffer.from("c"), Buffer.from("10")],
      { idempotent: true },
    );
    expect(resent.status).toBe(200);
    await waitFor(() => got.filter((m) => m.kind === "event").length === 2, 3000);
    expect(got.filter((m) => m.kind === "event").map((m) => m.seq)).toEqual([10, 12]);
    const status = JSON.parse((await c.request("broker.status", [])).body[0]!.toString()) as {
      events: { absent: number; skipped: number };
    };
    expect(status.events).toMatchObject({ absent: 1, skipped: 0 });
  });

  it("publishes a whole write's events from one request, and chains a re-sent batch", async () => {
    const [ne] = await cluster(["NE"]);
    const got = subscriber(ne!.events, "NE.");
    await waitFor(() => got.some((m) => m.kind === "sync"), 3000);
    const c = client(ne!.frontend);
    const frames = (...f: string[]) => f.map((x) => Buffer.from(x));
    const batch = await c.request(
      `${BROKER_PUBLISH_PREFIX}NE`,
      frames("3", "a", "4", "b", "5", "c"),
      {
        idempotent: true,
      },
    );
    expect(batch.status).toBe(200);
    await waitFor(() => got.filter((m) => m.kind === "event").length === 3, 3000);
    // 8 waits for 6 and 7; a re-send from the outbox says 6 follows 5 and 9 follows 6 (7, 8 gone).
    await publish(c, "NE", 8, "x");
    const resent = await c.request(`${BROKER_PUBLISH_PREFIX}NE`, frames("6", "d", "9", "e", "5"), {
      idempotent: true,
    });
    expect(resent.status).toBe(200);
    await waitFor(() => got.filter((m) => m.kind === "event").length === 6, 3000);
    const events = got.filter((m) => m.kind === "event");
    expect(events.map((m) => m.seq)).toEqual([3, 4, 5, 6, 8, 9]);
    expect(events.map((m) => m.body)).toEqual(["a", "b", "c", "d", "x", "e"]);
  });

  it("tells a sweep where it stands; a fresh broker adopts the outbox head", async () => {
    const [ne] = await cluster(["NE"]);
    const got = subscriber(ne!.events, "NE.");
    await waitFor(() => got.some((m) => m.kind === "sync"), 3000);
    const c = client(ne!.frontend);
    const outbox = (head: string) => c.request(`${BROKER_OUTBOX_PREFIX}NE`, [Buffer.from(head)]);
    const first = await outbox("40");
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body[0]!.toString())).toEqual({ last: 40 });
    await publish(c, "NE", 41, "x");
    await waitFor(() => got.some((m) => m.kind === "event"), 3000);
    expect(got.filter((m) => m.kind === "event").map((m) => m.seq)).toEqual([41]);
    expect(JSON.parse((await outbox("45")).body[0]!.toString())).toEqual({ last: 41 });
    await waitFor(() => got.some((m) => m.kind === "tick" && m.seq === 41), 3000);
  });

  it("rejects malformed publishes and outbox requests", async () => {
    const [ne] = await cluster(["NE"]);
    const c = client(ne!.frontend);
    const frames = (...f: string[]) => f.map((x) => Buffer.from(x));
    for (const body of [
      frames("zero"),
      frames("0", "{}"),
      frames("-3", "{}"),
      frames("1.5", "{}"),
      frames("9".repeat(40), "{}"),
      frames("5", "{}", "5"),
      frames("5", "{}", "x"),
      frames("5", "{}", "1", "extra"),
      frames("5", "{}", "5", "{}"),
      frames("5", "{}", "6", "{}", "6"),
      frames("5", "{}", "x", "{}"),
      frames(...Array.from({ length: 1001 }, (_, i) => [String(i + 1), "{}"]).flat()),
    ])
      expect((await c.request(`${BROKER_PUBLISH_PREFIX}NE`, body)).status).toBe(400);
    for (const body of [frames(), frames("x"), frames("-1"), frames("1", "2")])
      expect((await c.request(`${BROKER_OUTBOX_PREFIX}NE`, body)).status).toBe(400);
    const elsewhere = await c.request(`${BROKER_PUBLISH_PREFIX}XX`, frames("1", "{}"));
    expect(elsewhere.status).toBe(503);
    expect((await c.request(`${BROKER_OUTBOX_PREFIX}XX`, frames("1"))).status).toBe(503);
  });
});
