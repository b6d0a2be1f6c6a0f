/**
 * The hub's matching and delivery rules on their own (the sockets and feeds are exercised for
 * real by test/src/live-two-gateways-process.test.ts): kinds per subscription, moves, gaps, and
 * the slow-consumer policy.
 */
import type { PlaceEvent } from "@geomesh/coordinator";
import { defaultRegionMap } from "@geomesh/geo";
import { silentLogger } from "@geomesh/logger";
import { describe, expect, it } from "vitest";
import { LiveHub, type LiveSocket } from "./live-hub.js";

class RecordingSocket implements LiveSocket {
  readonly sent: Record<string, unknown>[] = [];
  bufferedAmount = 0;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {}
}

const follower = { want: () => Promise.resolve(), release: () => undefined };

function feature(id: string, at: [number, number], region: string, category = "cafe") {
  return {
    type: "Feature" as const,
    id,
    geometry: { type: "Point" as const, coordinates: at },
    properties: {
      name: id,
      category,
      tags: [],
      updatedAt: "2026-01-01T00:00:00.000Z",
      region,
      properties: {},
    },
  };
}

let seq = 0;
function event(
  kind: PlaceEvent["kind"],
  id: string,
  at: [number, number],
  extra: Partial<PlaceEvent> = {},
): PlaceEvent {
  const region = extra.region ?? "NE";
  return {
    type: "place.event",
    region,
    seq: ++seq,
    kind,
    id,
    place: feature(id, at, region),
    at: "2026-01-01T00:00:00.000Z",
    ...extra,
  };
}

async function hubWith(areas: Record<string, unknown>) {
  const hub = new LiveHub(defaultRegionMap(), follower, silentLogger, { maxQueued: 3 });
  const socket = new RecordingSocket();
  const session = hub.open(socket);
  for (const [id, area] of Object.entries(areas))
    await hub.onMessage(session, JSON.stringify({ op: "subscribe", id, area }));
  socket.sent.length = 0;
  return { hub, socket, session };
}

const NYC = { circle: { center: [-74, 40.7], radius: 20_000 } };
const kinds = (s: RecordingSocket) =>
  s.sent.map((m) => `${String(m.subscription)}:${String(m.kind)}`);

describe("LiveHub", () => {
  it("tells each subscription created, updated, enter, exit and deleted by where the place is", async () => {
    const { hub, socket } = await hubWith({
      nyc: NYC,
      far: {
        box: [
          [-80, 40],
          [-79, 41],
        ],
      },
    });
    const heard = (e: PlaceEvent) => {
      socket.sent.length = 0;
      hub.onFeed({ kind: "event", event: e });
      return kinds(socket).sort();
    };
    hub.onFeed({ kind: "event", event: event("created", "p", [-74, 40.7]) });
    const first = socket.sent[0]!;
    expect(kinds(socket)).toEqual(["nyc:created"]);
    expect(heard(event("updated", "p", [-74.01, 40.71], { previous: [-74, 40.7] }))).toEqual([
      "nyc:updated",
    ]);
    expect(heard(event("updated", "p", [-79.5, 40.5], { previous: [-74.01, 40.71] }))).toEqual([
      "far:enter",
      "nyc:exit",
    ]);
    expect(heard(event("updated", "p", [-74, 40.7], { previous: [-79.5, 40.5] }))).toEqual([
      "far:exit",
      "nyc:enter",
    ]);
    expect(heard(event("deleted", "p", [-74, 40.7]))).toEqual(["nyc:deleted"]);
    expect(heard(event("created", "q", [-100, 30], { region: "SW" }))).toEqual([]);
    expect(first).toMatchObject({ type: "event", region: "NE", id: "p", place: { id: "p" } });
  });

  it("gives one notification per subscription for a move across regions, whichever half comes first", async () => {
    const { hub, socket } = await hubWith({
      old: NYC,
      both: {
        box: [
          [-88, 40],
          [-73, 42],
        ],
      },
      dest: { circle: { center: [-87.63, 41.88], radius: 20_000 } },
    });
    const to = feature("m", [-87.63, 41.88], "MW");
    hub.onFeed({
      kind: "event",
      event: event("created", "m", [-87.63, 41.88], {
        region: "MW",
        movedFrom: "NE",
        previous: [-74, 40.7],
      }),
    });
    hub.onFeed({
      kind: "event",
      event: event("deleted", "m", [-74, 40.7], { movedTo: { region: "MW", place: to } }),
    });
    expect(kinds(socket).sort()).toEqual(["both:updated", "dest:enter", "old:exit"]);
  });

  it("reports a gap to every socket following the region, once per socket", async () => {
    const { hub, socket } = await hubWith({ a: NYC, b: NYC });
    hub.onFeed({ kind: "gap", region: "NE", from: 5, to: 7 });
    hub.onFeed({ kind: "gap", region: "SW", from: 1, to: 1 });
    expect(socket.sent).toEqual([{ type: "gap", region: "NE", from: 5, to: 7 }]);
  });

  it("keeps a slow socket's queue bounded: drops the oldest and says how many", async () => {
    const { hub, socket } = await hubWith({ a: NYC });
    socket.bufferedAmount = 10 * 1024 * 1024; // the client stopped reading
    for (let i = 0; i < 10; i++)
      hub.onFeed({ kind: "event", event: event("created", `s${i}`, [-74, 40.7]) });
    expect(socket.sent).toEqual([]);
    expect(hub.counters.dropped).toBe(7);
    socket.bufferedAmount = 0; // it reads again
    await new Promise((r) => setTimeout(r, 60));
    expect(socket.sent[0]).toEqual({ type: "dropped", count: 7 });
    expect(socket.sent.slice(1).map((m) => m.id)).toEqual(["s7", "s8", "s9"]);
    hub.stop();
  });

  it("refuses a subscription id twice and more than the per-socket limit", async () => {
    const hub = new LiveHub(defaultRegionMap(), follower, silentLogger, { maxSubscriptions: 2 });
    const socket = new RecordingSocket();
    const session = hub.open(socket);
    const sub = (id: string) =>
      hub.onMessage(session, JSON.stringify({ op: "subscribe", id, area: NYC }));
    await sub("a");
    await sub("a");
    await sub("b");
    await sub("c");
    expect(
      socket.sent.map((m) => (m.type === "error" ? (m.error as { code: string }).code : m.type)),
    ).toEqual(["subscribed", "CONFLICT", "subscribed", "LIMIT_EXCEEDED"]);
    hub.close(session);
    expect(hub.subscriptionCount).toBe(0);
  });
});
