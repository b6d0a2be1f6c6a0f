/**
 * Live feeds across two gateways (DESIGN §2 events PUB, §5 `WS /v1/live`): five brokers, a worker
 * per region and two `geomesh gateway` processes. WebSocket clients on both gateways subscribe
 * to areas (circles, boxes, polygons, some across region borders, some with a filter); writes go
 * through either gateway; every client must receive exactly the events inside its areas — none
 * missing, none outside, none twice — in each region's seq order, checked against an oracle of
 * the writes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type LngLat,
  type Shape,
  defaultRegionMap,
  parseWithinBody,
  pointInShape,
} from "@geomesh/geo";
import { seededRandom } from "@geomesh/geo/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { GeomeshProcess, freePort, writeClusterConfig } from "./helpers/processes.js";

const HB = { intervalMs: 500, liveness: 3 };
const map = defaultRegionMap();
const REGIONS = map.names();
const procs: GeomeshProcess[] = [];
const sockets: WebSocket[] = [];
let dir = "";
const gateways: string[] = [];

interface Received {
  subscription: string;
  kind: string;
  region: string;
  seq: number;
  id: string;
}

interface Client {
  readonly name: string;
  readonly ws: WebSocket;
  readonly got: Received[];
  readonly other: Record<string, unknown>[];
  readonly areas: Map<string, { shape: Shape; category?: string }>;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geomesh-live-"));
  const { path: config } = await writeClusterConfig(dir, { heartbeat: HB });
  const brokers = REGIONS.map(
    (r) => new GeomeshProcess(["--config", config, "broker", "--region", r]),
  );
  procs.push(...brokers);
  await Promise.all(brokers.map((b) => b.waitForLog(/^broker started$/, 60_000)));
  const workers = REGIONS.map(
    (r) => new GeomeshProcess(["--config", config, "worker", "--region", r, "--concurrency", "4"]),
  );
  procs.push(...workers);
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const g = new GeomeshProcess(["--config", config, "gateway", "--port", String(port)]);
    procs.push(g);
    gateways.push(`127.0.0.1:${port}`);
  }
  await Promise.all(workers.map((w) => w.waitForLog(/^worker registered$/, 90_000)));
  await Promise.all(procs.slice(-2).map((g) => g.waitForLog(/^gateway listening$/, 60_000)));
}, 240_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(procs.map((p) => p.destroy()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function connect(name: string, gateway: string): Promise<Client> {
  const ws = new WebSocket(`ws://${gateway}/v1/live`);
  sockets.push(ws);
  const client: Client = { name, ws, got: [], other: [], areas: new Map() };
  ws.on("message", (data: Buffer) => {
    const m = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    if (m.type === "event") client.got.push(m as unknown as Received);
    else client.other.push(m);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return client;
}

async function subscribe(
  client: Client,
  id: string,
  area: Record<string, unknown>,
  category?: string,
): Promise<void> {
  client.ws.send(
    JSON.stringify({ op: "subscribe", id, area, ...(category ? { filter: { category } } : {}) }),
  );
  const until = Date.now() + 20_000;
  for (;;) {
    const answer = client.other.find((m) => m.id === id);
    if (answer) {
      expect(answer.type, JSON.stringify(answer)).toBe("subscribed");
      break;
    }
    if (Date.now() > until) throw new Error(`no answer to subscribe ${id}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  client.areas.set(id, {
    shape: parseWithinBody(area).shape,
    ...(category ? { category } : {}),
  });
}

async function http(gateway: string, method: "PUT" | "DELETE", id: string, body?: unknown) {
  const res = await fetch(`http://${gateway}/v1/places/${encodeURIComponent(id)}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  expect(res.status, `${method} ${id}: ${text}`).toBe(200);
  return JSON.parse(text) as { region: string };
}

/** Areas: around the NE/South/MW corner (PA/MD/WV/OH), around Chicago, and a Texas box. */
const AREAS: { area: Record<string, unknown>; category?: string }[] = [
  { area: { circle: { center: [-79.5, 39.72], radius: 60_000 } } },
  {
    area: {
      box: [
        [-81, 39.3],
        [-78.5, 40.2],
      ],
    },
    category: "cafe",
  },
  {
    area: {
      geometry: {
        type: "Polygon",
        coordinates: [
          [
            [-80.9, 39.0],
            [-79.0, 39.0],
            [-79.0, 40.6],
            [-80.9, 40.6],
            [-80.9, 39.0],
          ],
        ],
      },
    },
  },
  { area: { circle: { center: [-87.63, 41.88], radius: 40_000 } } },
  {
    area: {
      box: [
        [-98, 29],
        [-96.5, 31],
      ],
    },
    category: "park",
  },
  { area: { circle: { center: [-80.5, 39.7], radius: 15_000 } } },
];

/** Write spots: inside and around the areas (some land outside every area). */
const SPOTS: { center: LngLat; spread: number }[] = [
  { center: [-79.8, 39.7], spread: 1.3 },
  { center: [-87.63, 41.88], spread: 0.6 },
  { center: [-97.2, 30.0], spread: 1.2 },
];

describe("live feeds over two gateways", () => {
  it("delivers every write exactly once to each subscription whose area it concerns, in seq order", async () => {
    const clients: Client[] = [];
    for (let i = 0; i < 6; i++) clients.push(await connect(`c${i}`, gateways[i % 2]!));
    // Each client holds two areas; every area is held by two clients on different gateways.
    for (let i = 0; i < clients.length; i++) {
      for (const k of [i, (i + 3) % AREAS.length]) {
        const a = AREAS[k]!;
        await subscribe(clients[i]!, `a${k}`, a.area, a.category);
      }
    }

    // The writes, sequential: creates, moves within a region, deletes.
    const rand = seededRandom(99);
    const state = new Map<string, { at: LngLat; category: string }>();
    const expected = new Map<string, string[]>(); // client/subscription → "id kind" in order
    const note = (
      id: string,
      before: { at: LngLat; category: string } | undefined,
      after: { at: LngLat; category: string } | undefined,
    ) => {
      for (const c of clients)
        for (const [sid, a] of c.areas) {
          const passes = (p: { category: string }) => !a.category || a.category === p.category;
          const wasIn = before !== undefined && pointInShape(before.at, a.shape);
          const nowIn = after !== undefined && pointInShape(after.at, a.shape) && passes(after);
          let kind: string | undefined;
          if (!after) kind = wasIn && passes(before) ? "deleted" : undefined;
          else if (!before) kind = nowIn ? "created" : undefined;
          else if (wasIn && nowIn) kind = "updated";
          else if (nowIn) kind = "enter";
          else if (wasIn) kind = "exit";
          if (!kind) continue;
          const key = `${c.name}/${sid}`;
          // The region whose event carries it: the old one for a delete or for leaving across a
          // border, else the one the place is in now.
          const from = before && map.regionOf(before.at);
          const region =
            !after || (kind === "exit" && from !== map.regionOf(after.at))
              ? from
              : map.regionOf(after.at);
          expected.set(key, [...(expected.get(key) ?? []), `${region} ${id} ${kind}`]);
        }
    };
    const spot = (): LngLat => {
      for (;;) {
        const s = SPOTS[Math.floor(rand() * SPOTS.length)]!;
        const p: LngLat = [
          Math.round((s.center[0] + (rand() - 0.5) * 2 * s.spread) * 1e5) / 1e5,
          Math.round((s.center[1] + (rand() - 0.5) * 2 * s.spread) * 1e5) / 1e5,
        ];
        if (map.regionOf(p) !== undefined) return p;
      }
    };
    const categories = ["cafe", "park", "shop"];
    let writes = 0;
    let crossRegionMoves = 0;
    for (let step = 0; step < 240; step++) {
      const gateway = gateways[step % 2]!;
      const ids = [...state.keys()];
      const r = rand();
      if (ids.length < 10 || r < 0.45) {
        const id = `p${step}`;
        const after = { at: spot(), category: categories[Math.floor(rand() * 3)]! };
        await http(gateway, "PUT", id, {
          name: id,
          category: after.category,
          location: { type: "Point", coordinates: after.at },
        });
        note(id, undefined, after);
        state.set(id, after);
      } else if (r < 0.85) {
        const id = ids[Math.floor(rand() * ids.length)]!;
        const before = state.get(id)!;
        // Half the moves stay near (mostly in the region), half jump to another spot, often in
        // another region: the old region's copy must go and subscribers hear one change.
        let at: LngLat = spot();
        if (rand() < 0.5)
          for (let t = 0; t < 20; t++) {
            const cand: LngLat = [
              Math.round((before.at[0] + (rand() - 0.5) * 0.8) * 1e5) / 1e5,
              Math.round((before.at[1] + (rand() - 0.5) * 0.8) * 1e5) / 1e5,
            ];
            if (map.regionOf(cand) !== undefined) {
              at = cand;
              break;
            }
          }
        if (map.regionOf(at) !== map.regionOf(before.at)) crossRegionMoves += 1;
        const after = {
          at,
          category: rand() < 0.2 ? categories[Math.floor(rand() * 3)]! : before.category,
        };
        await http(gateway, "PUT", id, {
          name: id,
          category: after.category,
          location: { type: "Point", coordinates: after.at },
        });
        note(id, before, after);
        state.set(id, after);
      } else {
        const id = ids[Math.floor(rand() * ids.length)]!;
        await http(gateway, "DELETE", id);
        note(id, state.get(id), undefined);
        state.delete(id);
      }
      writes += 1;
    }

    const total = [...expected.values()].reduce((n, l) => n + l.length, 0);
    const received = () => clients.reduce((n, c) => n + c.got.length, 0);
    const until = Date.now() + 20_000;
    while (received() < total && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500)); // anything extra would arrive now

    expect(total).toBeGreaterThan(100);
    for (const c of clients) {
      expect(c.other.filter((m) => m.type !== "subscribed")).toEqual([]);
      for (const sid of c.areas.keys()) {
        const key = `${c.name}/${sid}`;
        const got = c.got.filter((e) => e.subscription === sid);
        // In each region's seq order, and none twice.
        for (const region of REGIONS) {
          const seqs = got.filter((e) => e.region === region).map((e) => e.seq);
          expect(seqs, `${key} ${region} seqs`).toEqual([...seqs].sort((a, b) => a - b));
          expect(new Set(seqs).size, `${key} ${region} duplicates`).toBe(seqs.length);
        }
        // Writes were sequential, so seq order within a region is write order; across regions
        // the two feeds interleave freely: compare as "id kind" lists per region.
        const want = expected.get(key) ?? [];
        const perRegion = (list: string[]) =>
          REGIONS.map((r) => list.filter((x) => x.startsWith(`${r} `)));
        const have = got.map((e) => `${e.region} ${e.id} ${e.kind}`);
        expect([...have].sort(), `${key}: the set of events`).toEqual([...want].sort());
        expect(perRegion(have), `${key}: per-region order`).toEqual(perRegion(want));
      }
    }
    expect(writes).toBe(240);
    expect(crossRegionMoves).toBeGreaterThan(10);
    // Every id lives in exactly one region: where it was last written.
    for (const [id, p] of state) {
      const res = await fetch(`http://${gateways[0]}/v1/places/${id}`);
      const f = (await res.json()) as {
        properties: { region: string };
        geometry: { coordinates: LngLat };
      };
      expect(f.properties.region, id).toBe(map.regionOf(p.at));
      expect(f.geometry.coordinates).toEqual(p.at);
    }
    const all = (
      await (
        await fetch(`http://${gateways[1]}/v1/places/search`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/x-ndjson" },
          body: JSON.stringify({
            within: {
              box: [
                [-125, 24],
                [-66, 50],
              ],
            },
          }),
        })
      ).text()
    )
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id?: string; type: string });
    const ids = all.filter((f) => f.type === "Feature").map((f) => f.id!);
    expect(ids.filter((id) => id.startsWith("p")).sort()).toEqual([...state.keys()].sort());
  }, 180_000);

  it("answers bad subscriptions with an error message and keeps the socket open", async () => {
    const c = await connect("bad", gateways[0]!);
    const send = (m: unknown) => c.ws.send(typeof m === "string" ? m : JSON.stringify(m));
    send("{nope");
    send({ op: "subscribe", id: "x", area: { circle: { center: [500, 0], radius: 10 } } });
    send({
      op: "subscribe",
      id: "y",
      area: {
        box: [
          [0, 0],
          [1, 1],
        ],
      },
      $where: 1,
    });
    send({ op: "unsubscribe", id: "never" });
    send({ op: "dance" });
    const until = Date.now() + 10_000;
    while (c.other.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(c.other.map((m) => (m as { error?: { code: string } }).error?.code)).toEqual([
      "BAD_REQUEST",
      "GEO_INVALID_GEOMETRY",
      "VALIDATION_FAILED",
      "NOT_FOUND",
      "VALIDATION_FAILED",
    ]);
    send({ op: "ping" });
    while (c.other.length < 6 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(c.other[5]).toEqual({ type: "pong" });
  });
});
