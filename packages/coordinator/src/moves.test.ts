/**
 * A place whose id lives in one region and is written at a point another region owns: the old
 * copy goes (as a move), the new region holds it, and the two changes say so for live feeds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultRegionMap } from "@geomesh/geo";
import type { GeoStore } from "@geomesh/store";
import { EmbeddedGeoStore } from "@geomesh/store-embedded";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Coordinator } from "./coordinator.js";
import { executeLeaf } from "./leaf.js";
import { type PlaceEvent, placeEventOf } from "./place-event.js";

const map = defaultRegionMap();
const stores = new Map<string, GeoStore>();
const events: PlaceEvent[] = [];
let dir = "";
let coordinator: Coordinator;

const place = (id: string, lng: number, lat: number) => ({
  id,
  name: id,
  category: "cafe",
  location: { type: "Point" as const, coordinates: [lng, lat] as [number, number] },
  tags: [],
  properties: {},
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geomesh-moves-"));
  for (const name of map.names()) {
    const store = new EmbeddedGeoStore({ region: name, path: join(dir, `${name}.sqlite`) });
    await store.init();
    stores.set(name, store);
  }
  coordinator = new Coordinator(map, (region, request) =>
    executeLeaf(stores.get(region)!, region, map, request, (r, change) =>
      events.push(placeEventOf(r, change)),
    ),
  );
});

afterAll(async () => {
  for (const s of stores.values()) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("moves across regions", () => {
  it("removes the old region's copy and reports the write as an update in the new region", async () => {
    expect(await coordinator.upsert([place("mv", -74, 40.7)], false)).toEqual([
      { id: "mv", status: "created", region: "NE" },
    ]);
    events.length = 0;
    expect(await coordinator.upsert([place("mv", -87.63, 41.88)], false)).toEqual([
      { id: "mv", status: "updated", region: "MW" },
    ]);
    expect(await stores.get("NE")!.get("mv")).toBeUndefined();
    expect((await stores.get("MW")!.get("mv"))?.location.coordinates).toEqual([-87.63, 41.88]);
    expect(await coordinator.get("mv")).toMatchObject({ properties: { region: "MW" } });
    const [out, into] = events;
    expect(events).toHaveLength(2);
    expect(out).toMatchObject({
      region: "NE",
      kind: "deleted",
      movedTo: { region: "MW", place: { geometry: { coordinates: [-87.63, 41.88] } } },
    });
    expect(into).toMatchObject({
      region: "MW",
      kind: "created",
      movedFrom: "NE",
      previous: [-74, 40.7],
    });
    // The removal and the write describe the same place.
    expect(out!.movedTo!.place.properties.updatedAt).toBe(into!.place.properties.updatedAt);
  });

  it("moves the members of a batch that other regions hold and leaves the rest alone", async () => {
    await coordinator.upsert([place("b1", -74, 40.7), place("b2", -118.24, 34.05)], true);
    events.length = 0;
    const results = await coordinator.upsert(
      [place("b1", -74.1, 40.71), place("b2", -97.74, 30.27), place("b3", -80.2, 25.77)],
      true,
    );
    expect(results).toEqual([
      { id: "b1", status: "updated", region: "NE" },
      { id: "b2", status: "updated", region: "SW" },
      { id: "b3", status: "created", region: "South" },
    ]);
    expect(await stores.get("CA")!.get("b2")).toBeUndefined();
    expect(
      events.map((e) => `${e.region} ${e.kind} ${e.id}${e.movedFrom ? " moved" : ""}`).sort(),
    ).toEqual(["CA deleted b2", "NE updated b1", "SW created b2 moved", "South created b3"]);
    const located = await coordinator.locate(["b1", "b2", "nope"]);
    expect(located.map((h) => `${h.place.id}@${h.region}`)).toEqual(["b1@NE", "b2@SW"]);
  });
});
