/**
 * The events flow of a region broker: `broker.publish@REGION` requests (from workers, after a
 * commit) come out of the owning broker's events XPUB in seq order under the topic `REGION.`; a
 * subscriber gets a `sync` mark when it subscribes and a `tick` every heartbeat.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { BROKER_PUBLISH_PREFIX, Broker, type PeerEndpoints } from "./broker.js";
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

  it("skips a number that never arrives after a short hold, and rejects malformed publishes", async () => {
    const [ne] = await cluster(["NE"]);
    const got = subscriber(ne!.events, "NE.");
    await waitFor(() => got.some((m) => m.kind === "sync"), 3000);
    const c = client(ne!.frontend);
    await publish(c, "NE", 10, "a");
    await publish(c, "NE", 12, "c");
    await waitFor(() => got.filter((m) => m.kind === "event").length === 2, 3000);
    expect(got.filter((m) => m.kind === "event").map((m) => m.seq)).toEqual([10, 12]);
    const bad = await c.request(`${BROKER_PUBLISH_PREFIX}NE`, [Buffer.from("zero")]);
    expect(bad.status).toBe(400);
    const elsewhere = await c.request(`${BROKER_PUBLISH_PREFIX}XX`, [
      Buffer.from("1"),
      Buffer.from("{}"),
    ]);
    expect(elsewhere.status).toBe(503);
  });
});
