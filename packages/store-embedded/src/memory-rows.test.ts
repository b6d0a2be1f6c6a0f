import type { Place } from "@geomesh/geo";
import { seededRandom } from "@geomesh/geo/testing";
import { describe, expect, it } from "vitest";
import { MemoryRows, type PlaceRow } from "./memory-rows.js";

const row = (
  pk: number,
  over: Partial<Record<"name" | "category" | "tags" | "properties", string>> = {},
): PlaceRow => [
  pk,
  `id-${pk}`,
  over.name ?? `name ${pk}`,
  over.category ?? "poi",
  -73.5 + pk / 1e6,
  40.25 - pk / 1e7,
  over.tags ?? '["a"]',
  over.properties ?? '{"k":1}',
  "2026-12-07T09:00:00.000Z",
];

/** The place the store decodes from a file row. */
function asPlace([, id, name, category, lng, lat, tags, properties, updatedAt]: PlaceRow): Place {
  return {
    id,
    name,
    category,
    location: { type: "Point", coordinates: [lng, lat] },
    tags: JSON.parse(tags) as string[],
    properties: JSON.parse(properties) as Record<string, unknown>,
    updatedAt,
  };
}

describe("MemoryRows", () => {
  it("gives back exactly what it was given, whatever the name and category hold", () => {
    const rows = new MemoryRows();
    const hostile = [
      row(1, { name: "", category: "\u0000" }),
      row(2, { name: "a\u0000b\u0000\u0000", category: "12\u00003" }),
      row(3, { name: "7", category: "0" }),
      row(4, { name: "🗺️ Zürich — 東京", category: "café\u0000🍕" }),
      row(5, { tags: '["\\u0000"]', properties: '{"x":"\\u0000\\u0000","y":[1,2]}' }),
      row(1_000_003, { name: "far pk" }),
    ];
    for (const r of hostile) rows.put(r);
    for (const r of hostile) expect(rows.place(r[0], r[4], r[5])).toEqual(asPlace(r));
    expect(rows.place(6, 0, 0)).toBeUndefined();
    expect(rows.size).toBe(hostile.length);
    expect(rows.place(0, 0, 0)).toBeUndefined();
    expect(rows.place(6, 0, 0)).toBeUndefined();
    expect(rows.place(5_000_000, 0, 0)).toBeUndefined();
    expect(() => rows.put(row(-1))).toThrow(RangeError);
    expect(() => rows.put(row(1.5))).toThrow(RangeError);
  });

  it("decodes a page of pks in their order, undefined where a pk holds no row", () => {
    const rows = new MemoryRows();
    const held = [row(9), row(2, { tags: "[]", properties: "{}" }), row(700_000)];
    for (const r of held) rows.put(r);
    const points = [
      { pk: 700_000, lng: 1, lat: 2 },
      { pk: 3, lng: 0, lat: 0 },
      { pk: 9, lng: -3, lat: 4 },
      { pk: 2_000_000, lng: 0, lat: 0 },
      { pk: 2, lng: 5, lat: -6 },
    ];
    const out: (Place | undefined)[] = new Array<Place | undefined>(points.length);
    rows.places(points, out);
    expect(out).toEqual(points.map((p) => rows.place(p.pk, p.lng, p.lat)));
    expect(out.map((p) => p?.id)).toEqual(["id-700000", undefined, "id-9", undefined, "id-2"]);
    expect(out[2]?.location.coordinates).toEqual([-3, 4]);
    rows.places([], out);
    expect(out).toHaveLength(points.length);
  });

  it("turns a lone surrogate into U+FFFD, as the file does", () => {
    const rows = new MemoryRows();
    rows.put(row(1, { name: "x\ud800y" }));
    expect(rows.place(1, 0, 0)?.name).toBe("x\ufffdy");
  });

  it("follows puts, replacements and removes like a map", () => {
    const rows = new MemoryRows();
    const model = new Map<number, PlaceRow>();
    const rnd = seededRandom(11);
    for (let i = 0; i < 5000; i++) {
      const pk = 1 + Math.floor(rnd() * 700);
      if (rnd() < 0.3) {
        rows.remove(pk);
        model.delete(pk);
      } else {
        const r = row(pk, { name: `v${i}`, category: `c${i % 7}` });
        rows.put(r);
        model.set(pk, r);
      }
    }
    expect(rows.size).toBe(model.size);
    for (let pk = 0; pk <= 701; pk++)
      expect(rows.place(pk, model.get(pk)?.[4] ?? 0, model.get(pk)?.[5] ?? 0)).toEqual(
        model.has(pk) ? asPlace(model.get(pk)!) : undefined,
      );
    rows.clear();
    expect(rows.size).toBe(0);
    expect(rows.place([...model.keys()][0]!, 0, 0)).toBeUndefined();
  });
});
