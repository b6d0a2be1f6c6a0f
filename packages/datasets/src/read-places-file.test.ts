import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectFormat, readPlacesFile } from "./read-places-file.js";
import { collect, tempFiles, type TempFiles } from "./temp-files.js";

let files: TempFiles;
beforeAll(async () => {
  files = await tempFiles();
});
afterAll(() => files.remove());

const placeLine = JSON.stringify({
  id: "a",
  name: "A",
  category: "c",
  location: { type: "Point", coordinates: [1, 2] },
});

describe("detectFormat", () => {
  it("maps extensions to formats, case-insensitively", () => {
    expect(detectFormat("x.geojson")).toBe("geojson");
    expect(detectFormat("X.JSON")).toBe("geojson");
    expect(detectFormat("a/b.ndjson")).toBe("ndjson");
    expect(detectFormat("b.jsonl")).toBe("ndjson");
    expect(detectFormat("b.geojsonl")).toBe("ndjson");
    expect(detectFormat("c.Csv")).toBe("csv");
    expect(detectFormat("d.txt")).toBeUndefined();
    expect(detectFormat("noext")).toBeUndefined();
  });
});

describe("readPlacesFile", () => {
  it("reads each format chosen by its extension", async () => {
    const ndjson = await files.write("p.jsonl", placeLine);
    const csv = await files.write("p.csv", "id,name,category,lng,lat\na,A,c,1,2\n");
    const geojson = await files.write(
      "p.geojson",
      JSON.stringify({
        type: "Feature",
        id: "a",
        geometry: { type: "Point", coordinates: [1, 2] },
        properties: { name: "A", category: "c" },
      }),
    );
    for (const path of [ndjson, csv, geojson]) {
      const rows = await collect(readPlacesFile(path));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        ok: true,
        place: { id: "a", name: "A", category: "c", location: { coordinates: [1, 2] } },
      });
    }
  });

  it("uses an explicit format over the extension", async () => {
    const path = await files.write("places.txt", placeLine);
    expect(await collect(readPlacesFile(path, { format: "ndjson" }))).toMatchObject([
      { ok: true, row: 1 },
    ]);
  });

  it("fails with CONFIG_INVALID for an unknown extension, a missing file or a directory", async () => {
    await expect(collect(readPlacesFile(await files.write("x.txt", "")))).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("cannot tell the format") as unknown,
    });
    await expect(collect(readPlacesFile(`${files.dir}/missing.csv`))).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("ENOENT") as unknown,
    });
    await expect(collect(readPlacesFile(files.dir, { format: "csv" }))).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("EISDIR") as unknown,
    });
  });
});
