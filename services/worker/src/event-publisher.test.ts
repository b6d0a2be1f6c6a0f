/**
 * The outbox sweep against a real region broker (in process, real ZeroMQ sockets) and a real
 * embedded store: it re-sends what the broker has not published, and asks nothing while the
 * outbox head stays where the broker confirmed it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@geomesh/logger";
import { Broker } from "@geomesh/protocol";
import { freePorts } from "@geomesh/protocol/testing";
import { EmbeddedGeoStore } from "@geomesh/store-embedded";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { EventPublisher } from "./event-publisher.js";

const HB = { intervalMs: 100, liveness: 3 };
const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function setup() {
  const [frontend, backend, cloud, state, events] = (await freePorts(5)).map(
    (p) => `tcp://127.0.0.1:${p}`,
  ) as [string, string, string, string, string];
  const broker = new Broker({
    name: "NE",
    frontend,
    backend,
    heartbeat: HB,
    peering: { region: "NE", cloud, state, events, peers: [] },
  });
  await broker.start();
  stops.push(() => broker.stop(0));
  const dir = mkdtempSync(join(tmpdir(), "geomesh-sweep-"));
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = new EmbeddedGeoStore({ path: join(dir, "ne.sqlite"), region: "NE" });
  await store.init();
  stops.push(() => store.close());
  const publisher = new EventPublisher({ endpoint: frontend, heartbeat: HB, logger: silentLogger });
  stops.push(() => publisher.stop());
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.connect(events);
  sub.subscribe("NE.");
  stops.push(() => sub.close());
  const seqs: number[] = [];
  void (async () => {
    try {
      for await (const [, kind, seq] of sub)
        if (String(kind) === "event") seqs.push(Number(String(seq)));
    } catch {
      // closed
    }
  })();
  return { store, publisher, seqs };
}

const place = (id: string, lng: number) => ({
  id,
  name: id,
  category: "test",
  location: { type: "Point" as const, coordinates: [lng, 41.5] as [number, number] },
  tags: [],
  properties: {},
  updatedAt: new Date().toISOString(),
});

describe("EventPublisher.sweep", () => {
  it("re-sends unpublished changes, then asks nothing until the outbox moves", async () => {
    const { store, publisher, seqs } = await setup();
    // Committed but never published (as if the writer died before its publish).
    await store.upsert([place("a", -74.5), place("b", -74.4)]);
    // The first sweep only records the head (a fresh broker adopts it); changes committed
    // before a sweep are re-sent by the next one if the broker still lacks them.
    await publisher.sweep("NE", store);
    await store.upsert([place("c", -74.3)]);
    await publisher.sweep("NE", store);
    await publisher.sweep("NE", store);
    await expect.poll(() => seqs, { timeout: 5000 }).toEqual([3]);
    expect(publisher.counters.resent).toBe(1);
    // This one hears the broker confirm the head (the re-send was answered after the last ask).
    await publisher.sweep("NE", store);
    const asked = publisher.counters.sweeps - publisher.counters.unchanged;
    // Idle: the head is where the broker confirmed it, so these sweeps send no request.
    for (let i = 0; i < 5; i++) await publisher.sweep("NE", store);
    expect(publisher.counters.sweeps - publisher.counters.unchanged).toBe(asked);
    expect(publisher.counters.unchanged).toBeGreaterThanOrEqual(5);
    // The outbox moves: the next sweeps ask again and re-send the new change.
    await store.upsert([place("d", -74.2)]);
    await publisher.sweep("NE", store);
    await publisher.sweep("NE", store);
    await expect.poll(() => seqs, { timeout: 5000 }).toEqual([3, 4]);
    expect(publisher.counters.sweeps - publisher.counters.unchanged).toBeGreaterThan(asked);
  });
});
