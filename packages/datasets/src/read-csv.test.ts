import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCsv } from "./read-csv.js";
import type { CsvReadOptions } from "./read-options.js";
import type { RowResult } from "./row-result.js";
import { collect, tempFiles, type TempFiles } from "./temp-files.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

let files: TempFiles;
beforeAll(async () => {
  files = await tempFiles();
});
afterAll(() => files.remove());

async function read(
  name: string,
  content: string | Uint8Array,
  options: CsvReadOptions = {},
): Promise<RowResult[]> {
  const path = await files.write(name, content);
  return collect(readCsv(files.stream(path), options));
}

function summary(rows: RowResult[]): [number, string][] {
  return rows.map((r) => [r.row, r.ok ? `ok ${r.place.id}` : `${r.code}: ${r.reason}`]);
}

describe("readCsv", () => {
  it("maps the columns to places: aliases, ;-separated tags, other columns into properties", async () => {
    const rows = await read(
      "places.csv",
      "ID,Name,Category,Longitude,Latitude,Tags,zip,rating,phone\r\n" +
        "c1,Blue Bottle,cafe,-122.4,37.78,wifi; vegan;,94103,4.5,+1 415 555 0100\r\n" +
        "c2,Joe's,cafe, -73.99 , 40.73,,02134,3,\r\n",
    );
    expect(rows).toEqual([
      {
        ok: true,
        row: 2,
        place: {
          id: "c1",
          name: "Blue Bottle",
          category: "cafe",
          location: { type: "Point", coordinates: [-122.4, 37.78] },
          tags: ["wifi", "vegan"],
          properties: { zip: "94103", rating: 4.5, phone: "+1 415 555 0100" },
        },
      },
      {
        ok: true,
        row: 3,
        place: {
          id: "c2",
          name: "Joe's",
          category: "cafe",
          location: { type: "Point", coordinates: [-73.99, 40.73] },
          tags: [],
          properties: { zip: "02134", rating: 3 },
        },
      },
    ]);
  });

  it("decides number columns from the first rows, so a column keeps one type", async () => {
    const rows = await read(
      "types.csv",
      "id,name,category,lng,lat,pop,code,note\na,A,x,1,1,1200,007,12\nb,B,x,2,2,-3.25,12,n/a\n",
    );
    expect(rows.map((r) => (r.ok ? r.place.properties : r.reason))).toEqual([
      { pop: 1200, code: "007", note: "12" },
      { pop: -3.25, code: "12", note: "n/a" },
    ]);
    const asText = await read("types.csv", "id,name,category,lng,lat,pop\na,A,x,1,1,1200\n", {
      numbers: "strings",
    });
    expect(asText[0]).toMatchObject({ place: { properties: { pop: "1200" } } });
  });

  it("handles quoted commas, quotes and line breaks, numbering each row by the line it starts on", async () => {
    const rows = await read(
      "quoted.csv",
      'id,name,category,lng,lat\nq1,"Smith, ""Bob""\'s\nDiner",diner,1,2\n\nq2, "Plain",shop,3,4\n',
    );
    expect(rows.map((r) => [r.row, r.ok && r.place.name])).toEqual([
      [2, 'Smith, "Bob"\'s\nDiner'],
      [5, "Plain"],
    ]);
  });

  it("refuses bad rows with a reason and keeps reading", async () => {
    const rows = await read(
      "bad.csv",
      [
        "id,name,category,lng,lat",
        "ok1,A,x,1,1",
        "short,B,x,1",
        "nan,C,x,abc,1",
        "empty,D,x,,1",
        "far,E,x,10,123",
        ",F,x,1,1",
        "has space,G,x,1,1",
        'badquote,"H"junk,x,1,1',
        "ok2,I,x,2,2",
        "noname,,x,2,2",
      ].join("\n"),
    );
    expect(summary(rows)).toEqual([
      [2, "ok ok1"],
      [3, "VALIDATION_FAILED: row has 4 fields, the header has 5"],
      [4, 'VALIDATION_FAILED: column lng: "abc" is not a number'],
      [5, "VALIDATION_FAILED: column lng: empty"],
      [6, "GEO_INVALID_GEOMETRY: location.coordinates: latitude 123 is out of range [-90, 90]"],
      [7, "VALIDATION_FAILED: id: is required"],
      [8, "VALIDATION_FAILED: id: must be 1-128 printable ASCII characters without spaces"],
      [9, expect.stringMatching(/^BAD_REQUEST: invalid CSV: Invalid Closing Quote/)],
      [10, "ok ok2"],
      [11, "VALIDATION_FAILED: name: is required"],
    ]);
  });

  it("refuses every row of a __proto__ or $ column without polluting any prototype", async () => {
    const rows = await read(
      "proto.csv",
      "id,name,category,lng,lat,__proto__\na,A,x,1,1,polluted\n",
    );
    expect(summary(rows)).toEqual([
      [2, 'VALIDATION_FAILED: properties.__proto__: the key "__proto__" is not allowed'],
    ]);
    const dollar = await read("dollar.csv", "id,name,category,lng,lat,$where\na,A,x,1,1,1\n");
    expect(summary(dollar)).toEqual([
      [2, "VALIDATION_FAILED: properties[\"$where\"]: keys starting with '$' are not allowed"],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("throws VALIDATION_FAILED for a header that cannot give places", async () => {
    await expect(read("nolat.csv", "id,name,category,lng\n")).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      message: 'CSV header has no lat column (expected "lat" or "latitude")',
    });
    await expect(read("dup.csv", "id,name,lng,lat,Name\n")).rejects.toMatchObject({
      message: 'CSV header: column "Name" appears twice (columns 2 and 5)',
    });
    await expect(read("alias.csv", "id,lon,lng,lat\n")).rejects.toMatchObject({
      message: 'CSV header: columns "lon" and "lng" both give the lng',
    });
    await expect(read("unnamed.csv", "id,,lng,lat\n")).rejects.toMatchObject({
      message: "CSV header: column 2 has no name",
    });
  });

  it("refuses a record with invalid UTF-8 and keeps the others", async () => {
    const rows = await read(
      "utf8.csv",
      Buffer.concat([
        Buffer.from("id,name,category,lng,lat\na,A,x,1,1\nb,"),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(",x,1,1\nc,Ç,x,1,1\n"),
      ]),
    );
    expect(summary(rows)).toEqual([
      [2, "ok a"],
      [3, "BAD_REQUEST: invalid UTF-8 in the record"],
      [4, "ok c"],
    ]);
  });

  it("refuses a record over the cap and an unterminated quote at the end", async () => {
    const rows = await read(
      "long.csv",
      `id,name,category,lng,lat\na,${"n".repeat(2000)},x,1,1\nb,B,x,1,1\nc,"open,x,1,1\n`,
      { maxRowBytes: 1000 },
    );
    expect(summary(rows)).toEqual([
      [2, "LIMIT_EXCEEDED: the record is 0.002 MiB, over the 0.001 MiB limit per row"],
      [3, "ok b"],
      [
        4,
        "BAD_REQUEST: invalid CSV: Quote Not Closed: the parsing is finished with an opening quote",
      ],
    ]);
  });

  it(
    "reads a 10 MiB single-line data row as one refused row, and a 10 MiB header as an error",
    HEAVY,
    async () => {
      const rows = await read(
        "ten-mib-row.csv",
        `id,name,category,lng,lat\n${"r".repeat(10 * 1024 * 1024)}`,
      );
      expect(summary(rows)).toEqual([
        [2, "LIMIT_EXCEEDED: the record is 10.0 MiB, over the 1.0 MiB limit per row"],
      ]);
      await expect(read("ten-mib-header.csv", "h".repeat(10 * 1024 * 1024))).rejects.toMatchObject({
        code: "LIMIT_EXCEEDED",
      });
    },
  );

  it("reads an empty file, or a header alone, as no rows", async () => {
    expect(await read("empty.csv", "")).toEqual([]);
    expect(await read("header.csv", "\uFEFFid,name,category,lat,lon\r\n")).toEqual([]);
  });

  it("keeps row order and numbering across many rows with bad ones mixed in", async () => {
    const lines = ["id,name,category,lng,lat"];
    for (let i = 0; i < 1000; i += 1)
      lines.push(
        i % 97 === 0 ? `bad${i},"x"y,c,1,1` : `p${i},P ${i},c,${(i % 360) - 180},${(i % 180) - 90}`,
      );
    const rows = await read("many.csv", lines.join("\n"));
    expect(rows.map((r) => r.row)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 2));
    expect(rows.filter((r) => !r.ok).map((r) => r.row)).toEqual(
      Array.from({ length: 11 }, (_, k) => k * 97 + 2),
    );
  });
});
