import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNdjson } from "./read-ndjson.js";
import type { RowResult } from "./row-result.js";
import { collect, tempFiles, type TempFiles } from "./temp-files.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

let files: TempFiles;
beforeAll(async () => {
  files = await tempFiles();
});
afterAll(() => files.remove());

const place = (id: string, lng = -73.98, lat = 40.75): string =>
  JSON.stringify({
    id,
    name: `n ${id}`,
    category: "shop",
    location: { type: "Point", coordinates: [lng, lat] },
  });
const feature = (id: string): string =>
  JSON.stringify({
    type: "Feature",
    id,
    geometry: { type: "Point", coordinates: [-87.6, 41.9] },
    properties: { name: id, category: "bar", open: true },
  });

async function read(
  name: string,
  content: string | Uint8Array,
  maxRowBytes?: number,
): Promise<RowResult[]> {
  const path = await files.write(name, content);
  return collect(readNdjson(files.stream(path), maxRowBytes === undefined ? {} : { maxRowBytes }));
}

function summary(rows: RowResult[]): [number, string][] {
  return rows.map((r) => [r.row, r.ok ? `ok ${r.place.id}` : `${r.code}: ${r.reason}`]);
}

describe("readNdjson", () => {
  it("reads place objects and Features, one per line, numbering rows by line and skipping blank lines", async () => {
    const rows = await read(
      "mixed.ndjson",
      `${place("a")}\n\n   \n${feature("b")}\r\n${place("c")}`,
    );
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [4, "ok b"],
      [5, "ok c"],
    ]);
    expect(rows[1]).toMatchObject({
      place: { name: "b", category: "bar", properties: { open: true }, tags: [] },
    });
    expect(rows[0]).toMatchObject({ place: { tags: [], properties: {} } });
  });

  it("refuses a bad line as one row and keeps reading", async () => {
    const rows = await read(
      "bad.ndjson",
      [
        place("a"),
        "{not json",
        "[1,2]",
        "42",
        place("b", 10, -95),
        JSON.stringify({
          id: "c",
          name: "c",
          category: "x",
          location: { type: "Point", coordinates: [1, 2] },
          colour: "red",
        }),
        place("d"),
      ].join("\n"),
    );
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [2, expect.stringMatching(/^BAD_REQUEST: invalid JSON: /)],
      [3, "VALIDATION_FAILED: expected a GeoJSON Feature or a place object, got an array"],
      [4, "VALIDATION_FAILED: expected a GeoJSON Feature or a place object, got number"],
      [5, "GEO_INVALID_GEOMETRY: location.coordinates: latitude -95 is out of range [-90, 90]"],
      [6, "VALIDATION_FAILED: colour: unknown field"],
      [7, "ok d"],
    ]);
  });

  it("refuses truncated JSON on the last line", async () => {
    const rows = await read("truncated.ndjson", `${place("a")}\n${place("b").slice(0, 25)}`);
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [2, expect.stringMatching(/^BAD_REQUEST: invalid JSON: /)],
    ]);
  });

  it("refuses __proto__, $-keys and NaN-like values without polluting any prototype", async () => {
    const base = {
      id: "p",
      name: "p",
      category: "c",
      location: { type: "Point", coordinates: [1, 1] },
    };
    const rows = await read(
      "hostile.ndjson",
      [
        '{"__proto__":{"polluted":true},"id":"p","name":"p","category":"c","location":{"type":"Point","coordinates":[1,1]}}',
        JSON.stringify({ ...base, properties: { $gt: 1 } }),
        '{"id":"p","name":"p","category":"c","location":{"type":"Point","coordinates":[NaN,1]}}',
        JSON.stringify({ ...base, location: { type: "Point", coordinates: [1e999, 1] } }),
      ].join("\n"),
    );
    expect(rows.map((r) => r.ok)).toEqual([false, false, false, false]);
    expect(summary(rows)[0]).toEqual([
      1,
      'VALIDATION_FAILED: __proto__: the key "__proto__" is not allowed',
    ]);
    expect(summary(rows)[1]).toEqual([
      2,
      "VALIDATION_FAILED: properties[\"$gt\"]: keys starting with '$' are not allowed",
    ]);
    expect(summary(rows)[2]?.[1]).toMatch(/^BAD_REQUEST: invalid JSON/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a line with invalid UTF-8 and keeps the others", async () => {
    const bad = Buffer.concat([
      Buffer.from('{"id":"x","name":"'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from('","category":"c"}'),
    ]);
    const rows = await read(
      "utf8.ndjson",
      Buffer.concat([Buffer.from(`${place("a")}\n`), bad, Buffer.from(`\n${place("b")}\n`)]),
    );
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [2, "BAD_REQUEST: invalid UTF-8 in the line"],
      [3, "ok b"],
    ]);
  });

  it("refuses a line over the 1 MiB cap and reads on", async () => {
    const huge = JSON.stringify({
      id: "h",
      name: "h",
      category: "c",
      location: { type: "Point", coordinates: [1, 1] },
      properties: { blob: "x".repeat(1024 * 1024) },
    });
    const rows = await read("huge-line.ndjson", `${place("a")}\n${huge}\n${place("b")}\n`);
    expect(summary(rows)).toEqual([
      [1, "ok a"],
      [2, "LIMIT_EXCEEDED: the line is 1.0 MiB, over the 1.0 MiB limit per row"],
      [3, "ok b"],
    ]);
  });

  it("reads a 10 MiB single-line file as one refused row", HEAVY, async () => {
    const rows = await read("ten-mib.ndjson", "q".repeat(10 * 1024 * 1024));
    expect(summary(rows)).toEqual([
      [1, "LIMIT_EXCEEDED: the line is 10.0 MiB, over the 1.0 MiB limit per row"],
    ]);
  });

  it("reads an empty file as no rows", async () => {
    expect(await read("empty.ndjson", "")).toEqual([]);
    expect(await read("newlines.ndjson", "\n\n\r\n")).toEqual([]);
  });
});
