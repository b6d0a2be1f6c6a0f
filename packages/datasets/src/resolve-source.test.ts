import { defaultRegionMap } from "@geomesh/geo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPlaces, OUTSIDE_EVERY_REGION } from "./load-places.js";
import { resolveSource } from "./resolve-source.js";
import type { RowResult } from "./row-result.js";
import { collect, tempFiles, type TempFiles } from "./temp-files.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

let files: TempFiles;
beforeAll(async () => {
  files = await tempFiles();
});
afterAll(() => files.remove());

async function first(rows: AsyncIterable<RowResult>, n: number): Promise<RowResult[]> {
  const out: RowResult[] = [];
  for await (const row of rows) {
    out.push(row);
    if (out.length >= n) break;
  }
  return out;
}

describe("resolveSource", () => {
  it("resolves the bundled cities and zips with their totals", HEAVY, async () => {
    const cities = await resolveSource("cities");
    expect(cities).toMatchObject({ label: "cities", total: 16_937 });
    expect(await first(cities.rows, 2)).toMatchObject([
      { ok: true, row: 1, place: { category: "city" } },
      { ok: true, row: 2, place: { category: "city" } },
    ]);
    const zips = await resolveSource("zips");
    expect(zips.total).toBe(33_791);
    expect((await collect(zips.rows)).filter((r) => !r.ok)).toEqual([]);
  });

  it("resolves synthetic:<n>[:<seed>] with the count as total and the seed in the ids", async () => {
    const seeded = await resolveSource("synthetic:1_000:7");
    expect(seeded).toMatchObject({ label: "synthetic 1000 (seed 7)", total: 1000 });
    const rows = await collect(seeded.rows);
    expect(rows).toHaveLength(1000);
    expect(rows[999]).toMatchObject({ ok: true, row: 1000, place: { id: "syn:7:999" } });
    const plain = await resolveSource("synthetic:3");
    expect((await collect(plain.rows)).map((r) => r.ok && r.place.id)).toEqual([
      "syn:1:0",
      "syn:1:1",
      "syn:1:2",
    ]);
  });

  it("refuses hostile synthetic specs with a clear CONFIG_INVALID", async () => {
    const cases: [string, RegExp][] = [
      ["synthetic:-5", /count must be a whole number/],
      ["synthetic:NaN", /count must be a whole number, got "NaN"/],
      ["synthetic:1e6", /count must be a whole number/],
      ["synthetic:", /count must be a whole number/],
      ["synthetic:50000001", /from 0 to 50000000, got 50000001/],
      ["synthetic:99999999999999999999", /count must be a whole number/],
      ["synthetic:10:-1", /seed must be a whole number/],
      ["synthetic:10:4294967296", /seed must be a whole number from 0 to 4294967295/],
      ["synthetic:1:2:3", /expected synthetic:<count>\[:<seed>\]/],
    ];
    for (const [spec, message] of cases) {
      await expect(resolveSource(spec), spec).rejects.toMatchObject({
        code: "CONFIG_INVALID",
        message: expect.stringMatching(message) as unknown,
      });
    }
  });

  it("resolves a file path to its rows with no total", async () => {
    const path = await files.write("p.csv", "id,name,category,lng,lat\na,A,c,1,2\nb,B,c,1,200\n");
    const source = await resolveSource(path);
    expect(source).toMatchObject({ label: path, total: undefined });
    expect((await collect(source.rows)).map((r) => r.ok)).toEqual([true, false]);
  });

  it("refuses a missing file, a directory and an unknown format up front", async () => {
    await expect(resolveSource(`${files.dir}/nope.csv`)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("no such file") as unknown,
    });
    await expect(resolveSource("citys")).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("datasets are cities, zips") as unknown,
    });
    await expect(resolveSource(files.dir)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("not a file") as unknown,
    });
    const odd = await files.write("p.xlsx", "");
    await expect(resolveSource(odd)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("cannot tell the format") as unknown,
    });
    expect((await resolveSource(odd, { format: "csv" })).total).toBeUndefined();
  });
});

describe("bundled datasets through the default five regions", () => {
  const regions = defaultRegionMap();
  const load = async (spec: string) => {
    const stored = new Map<string, number>();
    const summary = await loadPlaces((await resolveSource(spec)).rows, {
      route: (place) => regions.regionOf(place.location.coordinates),
      send: (region, places) => {
        stored.set(region, (stored.get(region) ?? 0) + places.length);
        return Promise.resolve({ status: "accepted" });
      },
    });
    return { summary, stored: Object.fromEntries(stored) };
  };

  it(
    "places every city in a region but Taulaga on Swains Island, over 50 km from American Samoa's polygon",
    HEAVY,
    async () => {
      const { summary, stored } = await load("cities");
      expect(summary).toMatchObject({ read: 16_937, accepted: 16_936, rejected: 1 });
      expect(summary.reasons).toEqual([
        {
          reason: OUTSIDE_EVERY_REGION,
          code: "GEO_OUT_OF_REGION",
          count: 1,
          examples: [expect.any(Number) as unknown],
        },
      ]);
      expect(Object.keys(summary.byRegion).sort()).toEqual(["CA", "MW", "NE", "SW", "South"]);
      expect(stored).toEqual(summary.byRegion);
    },
  );

  it("places every ZIP centroid and every synthetic point in a region", HEAVY, async () => {
    expect((await load("zips")).summary).toMatchObject({
      read: 33_791,
      accepted: 33_791,
      rejected: 0,
    });
    const synthetic = await load("synthetic:20000:3");
    expect(synthetic.summary).toMatchObject({ read: 20_000, accepted: 20_000, rejected: 0 });
    expect(Object.keys(synthetic.summary.byRegion)).toHaveLength(5);
  });
});
