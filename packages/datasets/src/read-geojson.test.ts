import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGeoJson } from "./read-geojson.js";
import type { RowResult } from "./row-result.js";
import { collect, tempFiles, type TempFiles } from "./temp-files.js";

/** Big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

let files: TempFiles;
beforeAll(async () => {
  files = await tempFiles();
});
afterAll(() => files.remove());

function feature(
  id: string | number,
  lng: number,
  lat: number,
  props: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: "Feature",
    id,
    geometry: { type: "Point", coordinates: [lng, lat] },
    properties: { name: `n${id}`, category: "cafe", ...props },
  };
}

function collection(features: unknown[]): string {
  return JSON.stringify({ type: "FeatureCollection", features });
}

async function read(
  name: string,
  content: string | Uint8Array,
  maxRowBytes?: number,
  chunk?: number,
): Promise<RowResult[]> {
  const path = await files.write(name, content);
  return collect(
    readGeoJson(files.stream(path, chunk), maxRowBytes === undefined ? {} : { maxRowBytes }),
  );
}

function summary(rows: RowResult[]): [number, string][] {
  return rows.map((r) => [r.row, r.ok ? `ok ${r.place.id}` : `${r.code}: ${r.reason}`]);
}

describe("readGeoJson", () => {
  it("maps Point features to places: id from feature.id or properties.id, fields and the rest of properties", async () => {
    const rows = await read(
      "fc.geojson",
      collection([
        feature(7, -73.98, 40.75, { tags: ["a", "b"], population: 12, nested: { x: [1, 2] } }),
        {
          type: "Feature",
          geometry: { type: "Point", coordinates: [-118.24, 34.05, 71] },
          properties: { id: "la", name: "LA", category: "city", tags: "x; y;" },
        },
      ]),
    );
    expect(rows).toEqual([
      {
        ok: true,
        row: 1,
        place: {
          id: "7",
          name: "n7",
          category: "cafe",
          location: { type: "Point", coordinates: [-73.98, 40.75] },
          tags: ["a", "b"],
          properties: { population: 12, nested: { x: [1, 2] } },
        },
      },
      {
        ok: true,
        row: 2,
        place: {
          id: "la",
          name: "LA",
          category: "city",
          location: { type: "Point", coordinates: [-118.24, 34.05] },
          tags: ["x", "y"],
          properties: {},
        },
      },
    ]);
  });

  it("reads a document that is a single Feature as row 1", async () => {
    const rows = await read("one.geojson", `\n  ${JSON.stringify(feature("solo", 1, 2))}\n`);
    expect(summary(rows)).toEqual([[1, "ok solo"]]);
  });

  it("reads an empty FeatureCollection and an empty file as no rows", async () => {
    expect(await read("empty-fc.geojson", collection([]))).toEqual([]);
    expect(await read("empty.geojson", "")).toEqual([]);
    expect(await read("blank.geojson", " \n\t\n")).toEqual([]);
  });

  it("refuses bad features one by one, with their position, and keeps reading", async () => {
    const rows = await read(
      "mixed.geojson",
      collection([
        feature("a", 0, 0),
        feature("b", -73.9, 123),
        {
          type: "Feature",
          id: "c",
          geometry: {
            type: "LineString",
            coordinates: [
              [0, 0],
              [1, 1],
            ],
          },
          properties: {},
        },
        "not a feature",
        null,
        { type: "Feature", id: "d", geometry: null, properties: {} },
        feature("e", 10, 10, { extra: "ok" }),
        { ...feature("f", 1, 1), properties: { name: "f" } },
      ]),
    );
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [2, "GEO_INVALID_GEOMETRY: location.coordinates: latitude 123 is out of range [-90, 90]"],
      [3, "GEO_INVALID_GEOMETRY: geometry: only Point features are places, got LineString"],
      [4, "VALIDATION_FAILED: not a GeoJSON Feature: got a string"],
      [5, "VALIDATION_FAILED: not a GeoJSON Feature: got null"],
      [6, "GEO_INVALID_GEOMETRY: geometry: expected a Point, got null"],
      [7, "ok e"],
      [8, "VALIDATION_FAILED: category: is required"],
    ]);
  });

  it("does not mistake brackets and quotes inside strings, or a nested features key, for structure", async () => {
    const tricky = feature("t", 5, 5, {
      note: 'a "quoted" ] } [ { string \\ with \\" escapes',
      features: [1, 2],
    });
    const rows = await read(
      "tricky.geojson",
      `{"features":[${JSON.stringify(tricky)}],"type":"FeatureCollection","meta":{"features":[]}}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      ok: true,
      place: {
        id: "t",
        properties: { note: 'a "quoted" ] } [ { string \\ with \\" escapes', features: [1, 2] },
      },
    });
  });

  it("keeps the features before a truncation and refuses the cut-off feature", async () => {
    const whole = collection([feature("a", 1, 1), feature("b", 2, 2), feature("c", 3, 3)]);
    const cut = whole.slice(0, whole.indexOf('"id":"c"') + 3);
    expect(summary(await read("truncated.geojson", cut))).toEqual([
      [1, "ok a"],
      [2, "ok b"],
      [3, "BAD_REQUEST: truncated JSON: the file ends inside this feature"],
    ]);
    const unclosed = whole.slice(0, whole.length - 2); // all features complete, "]}" missing
    expect(summary(await read("unclosed.geojson", unclosed)).at(-1)).toEqual([
      4,
      "BAD_REQUEST: truncated JSON: the file ends inside the FeatureCollection",
    ]);
    expect(
      summary(await read("cut-feature.geojson", JSON.stringify(feature("x", 1, 1)).slice(0, 30))),
    ).toEqual([[1, "BAD_REQUEST: truncated JSON: the file ends inside the Feature"]]);
  });

  it("refuses invalid JSON inside one feature without losing its neighbours", async () => {
    const good = JSON.stringify(feature("g", 1, 1));
    const rows = await read(
      "badjson.geojson",
      `{"type":"FeatureCollection","features":[${good},{"type":"Feature",,"x":1},${good.replace('"g"', '"h"')}]}`,
    );
    expect(rows.map((r) => [r.row, r.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    expect(rows[1]).toMatchObject({
      code: "BAD_REQUEST",
      reason: expect.stringMatching(/^invalid JSON: /) as unknown,
    });
  });

  it("stops with one refused row at a mismatched bracket or data after the document", async () => {
    const good = JSON.stringify(feature("g", 1, 1));
    expect(
      summary(await read("mismatch.geojson", `{"type":"FeatureCollection","features":[${good}}`)),
    ).toEqual([
      [1, "ok g"],
      [2, 'BAD_REQUEST: invalid JSON: unexpected "}"'],
    ]);
    expect(
      summary(await read("trailing.geojson", `${collection([feature("g", 1, 1)])}\n{"more":1}`)),
    ).toEqual([
      [1, "ok g"],
      [2, "BAD_REQUEST: invalid JSON: unexpected data after the end of the GeoJSON document"],
    ]);
  });

  it("throws BAD_REQUEST when the file is not a JSON object at all", async () => {
    await expect(read("array.geojson", "[1,2]")).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("not a GeoJSON document") as unknown,
    });
    await expect(read("text.geojson", "id,name\n1,x\n")).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });

  it("refuses __proto__ and $-keys in properties without polluting any prototype", async () => {
    const text =
      '{"type":"FeatureCollection","features":[' +
      '{"type":"Feature","id":"p","geometry":{"type":"Point","coordinates":[1,1]},"properties":{"name":"p","category":"c","__proto__":{"polluted":true}}},' +
      '{"type":"Feature","id":"q","geometry":{"type":"Point","coordinates":[1,1]},"properties":{"name":"q","category":"c","$where":"1"}},' +
      '{"type":"Feature","id":"r","geometry":{"type":"Point","coordinates":[1,1]},"properties":{"name":"r","category":"c","deep":{"constructor":{"prototype":{"polluted":true}}}}}]}';
    const rows = await read("proto.geojson", text);
    expect(summary(rows)).toEqual([
      [1, 'VALIDATION_FAILED: properties.__proto__: the key "__proto__" is not allowed'],
      [2, "VALIDATION_FAILED: properties[\"$where\"]: keys starting with '$' are not allowed"],
      [3, 'VALIDATION_FAILED: properties.deep.constructor: the key "constructor" is not allowed'],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a feature with invalid UTF-8 and keeps the others", async () => {
    const before = Buffer.from(
      `{"type":"FeatureCollection","features":[${JSON.stringify(feature("a", 1, 1))},{"type":"Feature","id":"bad","geometry":{"type":"Point","coordinates":[1,1]},"properties":{"name":"`,
    );
    const after = Buffer.from(`","category":"c"}},${JSON.stringify(feature("z", 2, 2))}]}`);
    const rows = await read(
      "utf8.geojson",
      Buffer.concat([before, Buffer.from([0xc3, 0x28, 0xff]), after]),
    );
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [2, "BAD_REQUEST: invalid UTF-8 in the feature"],
      [3, "ok z"],
    ]);
  });

  it("refuses a feature over the row limit and reads on", async () => {
    const big = feature("big", 1, 1, { blob: "x".repeat(5000) });
    const rows = await read(
      "big.geojson",
      collection([feature("a", 1, 1), big, feature("b", 2, 2)]),
      4096,
    );
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [2, "LIMIT_EXCEEDED: the feature is 0.005 MiB, over the 0.004 MiB limit per row"],
      [3, "ok b"],
    ]);
  });

  it("streams a 10 MiB single-line FeatureCollection feature by feature", HEAVY, async () => {
    const features = Array.from({ length: 5_000 }, (_, i) =>
      feature(`f${i}`, -100 + (i % 50), 30 + (i % 20), { pad: "y".repeat(2_100) }),
    );
    const text = collection(features);
    expect(text.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(text).not.toContain("\n");
    const rows = await read("ten-mib.geojson", text);
    expect(rows).toHaveLength(5_000);
    expect(rows.every((r) => r.ok)).toBe(true);
    expect(rows.at(-1)).toMatchObject({ row: 5_000, place: { id: "f4999" } });
  });

  it("refuses a 10 MiB single Feature as one row over the limit", HEAVY, async () => {
    const rows = await read(
      "ten-mib-feature.geojson",
      JSON.stringify(feature("huge", 1, 1, { blob: "z".repeat(10 * 1024 * 1024) })),
    );
    expect(rows).toEqual([
      {
        ok: false,
        row: 1,
        code: "LIMIT_EXCEEDED",
        reason: expect.stringMatching(
          /^the Feature is 10\.0 MiB, over the 1\.0 MiB limit per row$/,
        ) as unknown,
      },
    ]);
  });

  it("gives the same rows whatever the chunk size", HEAVY, async () => {
    const features = [
      feature("a", 1, 1, { s: ']}[{"' }),
      "junk",
      feature("b", 200, 1),
      feature("c", -5, 5, { tags: ["t"] }),
    ];
    const text = `\uFEFF${collection(features)}`;
    const whole = summary(await read("chunks.geojson", text));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), async (chunk) => {
        expect(summary(await read("chunks.geojson", text, undefined, chunk))).toEqual(whole);
      }),
      { numRuns: 25 },
    );
    expect(whole.map(([row]) => row)).toEqual([1, 2, 3, 4]);
  });
});
