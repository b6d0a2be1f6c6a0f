import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthetic } from "@geomesh/datasets";
import {
  type Place,
  type PlaceInput,
  defaultRegionMap,
  parseNearBody,
  parseServiceBody,
  parseWithinBody,
  serviceBodyOf,
} from "@geomesh/geo";
import { bruteForceNear, bruteForceWithin, seededRandom } from "@geomesh/geo/testing";
import type { GeoStore } from "@geomesh/store";
import { EmbeddedGeoStore } from "@geomesh/store-embedded";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GeomeshError } from "@geomesh/errors";
import { Coordinator } from "./coordinator.js";
import type { PlaceFeatureCollection } from "./features.js";
import { executeLeaf } from "./leaf.js";

const map = defaultRegionMap();
const stores = new Map<string, GeoStore>();
let dir = "";
let places: Place[] = [];
let coordinator: Coordinator;

/** Border points: along lines crossing region borders (NE/South, MW/South, SW/CA, …). */
function borderPlaces(n: number, rand: () => number): PlaceInput[] {
  const crossings: [number, number, number, number][] = [
    [-80.5, 39.7, -80.5, 42.0], // PA / OH / WV
    [-75.8, 39.7, -75.0, 40.8], // PA / DE / NJ
    [-91.0, 36.5, -89.5, 36.5], // MO / AR / TN
    [-114.6, 32.7, -114.6, 36.0], // AZ / CA / NV
    [-103.0, 37.0, -94.6, 37.0], // KS / OK
    [-111.05, 41.0, -111.05, 45.0], // UT / WY / ID
  ];
  return Array.from({ length: n }, (_, i) => {
    const [a, b, c, d] = crossings[i % crossings.length]!;
    const t = rand();
    const lng = a + (c - a) * t + (rand() - 0.5) * 0.4;
    const lat = b + (d - b) * t + (rand() - 0.5) * 0.4;
    return {
      id: `border:${i}`,
      name: `border ${i}`,
      category: i % 2 ? "cafe" : "park",
      location: { type: "Point", coordinates: [lng, lat] },
      tags: [],
      properties: {},
    };
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geomesh-coord-"));
  for (const name of map.names()) {
    const store = new EmbeddedGeoStore({ region: name, path: join(dir, `${name}.sqlite`) });
    await store.init();
    stores.set(name, store);
  }
  coordinator = new Coordinator(map, (region, request) =>
    executeLeaf(stores.get(region)!, region, map, request),
  );
  const rand = seededRandom(3);
  const inputs = [...synthetic(4000, { seed: 21 }), ...borderPlaces(1500, rand)].filter(
    (p) => map.regionOf(p.location.coordinates) !== undefined,
  );
  for (let i = 0; i < inputs.length; i += 500)
    await coordinator.upsert(inputs.slice(i, i + 500), true);
  places = [];
  for (const store of stores.values())
    for (const id of await allIds(store)) places.push((await store.get(id))!);
}, 120_000);

afterAll(async () => {
  for (const store of stores.values()) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function allIds(store: GeoStore): Promise<string[]> {
  const page = await store.within({
    shape: {
      kind: "box",
      box: [
        [-180, -90],
        [180, 90],
      ],
    },
    limit: 1000,
  });
  const ids = page.hits.map((h) => h.place.id);
  let next = page.next;
  while (next) {
    const more = await store.within({
      shape: {
        kind: "box",
        box: [
          [-180, -90],
          [180, 90],
        ],
      },
      limit: 1000,
      cursor: { id: ids[ids.length - 1]! },
    });
    ids.push(...more.hits.map((h) => h.place.id));
    next = more.next;
  }
  return ids;
}

describe("Coordinator over five regions", () => {
  it("stores every place in the region that owns it", () => {
    expect(places.length).toBeGreaterThan(5000);
  });

  it("answers random near queries — most of them at region borders — exactly as one global index", async () => {
    const rand = seededRandom(17);
    const border = places.filter((p) => p.id.startsWith("border:"));
    for (let i = 0; i < 400; i++) {
      const anchor = (i % 4 === 0 ? places : border)[
        Math.floor(rand() * (i % 4 === 0 ? places.length : border.length))
      ]!.location.coordinates;
      const body: Record<string, unknown> = {
        point: [anchor[0] + (rand() - 0.5) * 0.2, anchor[1] + (rand() - 0.5) * 0.2],
        limit: 1 + Math.floor(rand() * 50),
      };
      if (i % 3 === 0) body.maxDistance = Math.round(rand() * 300_000);
      if (i % 7 === 0) body.filter = { category: "cafe" };
      const got = (await coordinator.execute("geo.near", body)) as PlaceFeatureCollection;
      const want = bruteForceNear(places, parseNearBody(body));
      expect(
        got.features.map((f) => f.id),
        JSON.stringify(body),
      ).toEqual(want.hits.map((h) => h.place.id));
    }
  });

  it("answers circles and polygons spanning regions exactly as one global index", async () => {
    const rand = seededRandom(23);
    for (let i = 0; i < 150; i++) {
      const c = places[Math.floor(rand() * places.length)]!.location.coordinates;
      const r = 0.3 + rand() * 2;
      const body =
        i % 2
          ? { circle: { center: c, radius: Math.round(10_000 + rand() * 300_000) }, limit: 1000 }
          : {
              geometry: {
                type: "Polygon",
                coordinates: [
                  [
                    [c[0] - r, c[1] - r / 2],
                    [c[0] + r, c[1] - r / 2],
                    [c[0] + r / 3, c[1] + r / 2],
                    [c[0] - r, c[1] - r / 2],
                  ],
                ],
              },
              limit: 1000,
            };
      const got = (await coordinator.execute("geo.within", body)) as PlaceFeatureCollection;
      const want = bruteForceWithin(places, parseWithinBody(body));
      expect(
        got.features.map((f) => f.id),
        JSON.stringify(body),
      ).toEqual(want.hits.map((h) => h.place.id));
    }
  });

  it("pages through a cross-region near query with cursors, every hit exactly once and in order", async () => {
    const base = { point: [-80.5, 40.5], maxDistance: 150_000, limit: 37 };
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 200; page++) {
      const got = (await coordinator.execute(
        "geo.near",
        cursor ? { ...base, cursor } : base,
      )) as PlaceFeatureCollection;
      seen.push(...got.features.map((f) => f.id));
      cursor = got.next;
      if (!cursor) break;
    }
    const want = bruteForceNear(places, parseNearBody({ ...base, limit: 1000 }));
    expect(want.hits.length).toBeGreaterThan(37 * 3);
    expect(seen).toEqual(want.hits.map((h) => h.place.id));
  });

  it("renders the same bodies whether leaves answer compact hits or FeatureCollections over the wire", async () => {
    // Leaves as separate processes see them: the request and the reply cross as JSON. `wire`
    // leaves answer what they are asked (compact hits: coordinators ask for them); `legacy` ones
    // drop the `reply` field, as a leaf that only renders FeatureCollections would.
    const overJson = (dropReply: boolean) =>
      new Coordinator(map, async (region, request) => {
        const body = serviceBodyOf(request);
        if (dropReply) delete body.reply;
        const parsed = parseServiceBody(request.service, JSON.parse(JSON.stringify(body)));
        const reply = await executeLeaf(stores.get(region)!, region, map, parsed);
        return JSON.parse(JSON.stringify(reply)) as unknown;
      });
    const wire = overJson(false);
    const legacy = overJson(true);
    const asked: string[] = [];
    const spy = new Coordinator(map, (region, request) => {
      asked.push(JSON.stringify(serviceBodyOf(request)));
      return executeLeaf(stores.get(region)!, region, map, request);
    });
    const rand = seededRandom(29);
    for (let i = 0; i < 60; i++) {
      const c = places[Math.floor(rand() * places.length)]!.location.coordinates;
      const [service, body] =
        i % 3 === 0
          ? ["geo.within", { circle: { center: c, radius: 80_000 }, limit: 20 }]
          : ["geo.near", { point: c, limit: 1 + (i % 12) }];
      const direct = await coordinator.execute(service, body);
      expect(await wire.execute(service, body)).toEqual(direct);
      expect(await legacy.execute(service, body)).toEqual(direct);
      await spy.execute(service, body);
    }
    expect(asked.length).toBeGreaterThan(60);
    for (const body of asked) expect(JSON.parse(body)).toMatchObject({ reply: "hits" });
  });

  it("refuses a write more than 50 km from every region, writing nothing", async () => {
    await expect(
      coordinator.execute("place.upsert", {
        places: [
          {
            id: "ok:1",
            name: "x",
            category: "c",
            location: { type: "Point", coordinates: [-74, 40.7] },
          },
          {
            id: "sea:1",
            name: "x",
            category: "c",
            location: { type: "Point", coordinates: [-40, 30] },
          },
        ],
      }),
    ).rejects.toMatchObject({ code: "GEO_OUT_OF_REGION", status: 422 });
    await expect(coordinator.execute("place.get", { id: "ok:1" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

describe("Coordinator with a region that does not answer", () => {
  const down = "South";
  const partialCoordinator = () =>
    new Coordinator(map, (region, request) =>
      region === down
        ? Promise.reject(
            new GeomeshError("REGION_UNAVAILABLE", `region ${region} is down`, {
              data: { unavailable: [region] },
            }),
          )
        : executeLeaf(stores.get(region)!, region, map, request),
    );
  const withoutDown = () => places.filter((p) => map.regionOf(p.location.coordinates) !== down);

  it("answers reads from the other regions, exactly, marked partial with the region named", async () => {
    const c = partialCoordinator();
    const rand = seededRandom(17);
    let partial = 0;
    for (let i = 0; i < 60; i++) {
      // Around the MO / AR / TN and PA / WV corners, where South meets the others.
      const corner = i % 2 ? [-90.2, 36.5] : [-80.5, 39.7];
      const point = [corner[0]! + (rand() - 0.5) * 2, corner[1]! + (rand() - 0.5) * 2];
      const near = { point, limit: 1 + Math.floor(rand() * 30) };
      const within = { circle: { center: point, radius: 20_000 + rand() * 200_000 }, limit: 200 };
      const gotNear = (await c.execute("geo.near", near)) as PlaceFeatureCollection;
      const gotWithin = (await c.execute("geo.within", within)) as PlaceFeatureCollection;
      expect(gotNear.features.map((f) => f.id)).toEqual(
        bruteForceNear(withoutDown(), parseNearBody(near)).hits.map((h) => h.place.id),
      );
      expect(gotWithin.features.map((f) => f.id)).toEqual(
        bruteForceWithin(withoutDown(), parseWithinBody(within)).hits.map((h) => h.place.id),
      );
      for (const fc of [gotNear, gotWithin]) {
        if (fc.partial) {
          partial += 1;
          expect(fc.unavailable).toEqual([down]);
        } else {
          expect(fc.unavailable).toBeUndefined();
        }
      }
    }
    expect(partial).toBeGreaterThan(30);
    const counted = (await c.execute("geo.count", {
      within: { circle: { center: [-84.39, 33.75], radius: 300_000 } },
    })) as { count: number; partial?: boolean; unavailable?: string[] };
    expect(counted).toMatchObject({ partial: true, unavailable: [down] });
  });

  it("answers 503 REGION_UNAVAILABLE to a get, delete or write it cannot decide", async () => {
    const c = partialCoordinator();
    const unavailable = { code: "REGION_UNAVAILABLE", status: 503, data: { unavailable: [down] } };
    // Not found elsewhere: it may be in South.
    await expect(c.execute("place.get", { id: "nowhere:1" })).rejects.toMatchObject(unavailable);
    await expect(c.execute("place.delete", { id: "nowhere:1" })).rejects.toMatchObject(unavailable);
    // Found elsewhere: the answer is known.
    const ne = places.find((p) => map.regionOf(p.location.coordinates) === "NE")!;
    expect(await c.execute("place.get", { id: ne.id })).toMatchObject({ id: ne.id });
    // A write must know no other region holds the id (a move), so every region must answer.
    await expect(
      c.execute("place.upsert", {
        id: "new:1",
        name: "x",
        category: "c",
        location: { type: "Point", coordinates: [-74, 40.7] },
      }),
    ).rejects.toMatchObject(unavailable);
    await expect(coordinator.execute("place.get", { id: "new:1" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("lets a request error that is not about reachability through unchanged", async () => {
    const c = new Coordinator(map, () =>
      Promise.reject(new GeomeshError("LIMIT_EXCEEDED", "too big")),
    );
    await expect(c.execute("geo.near", { point: [-74, 40.7] })).rejects.toMatchObject({
      code: "LIMIT_EXCEEDED",
    });
  });
});
