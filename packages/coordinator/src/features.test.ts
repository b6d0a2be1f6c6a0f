import type { Page } from "@geomesh/geo";
import { GeomeshError } from "@geomesh/errors";
import { describe, expect, it } from "vitest";
import { pageToFeatureCollection, pageToHits, readLeafPage } from "./features.js";

const page: Page = {
  hits: [
    {
      place: {
        id: "a",
        name: "Alpha",
        category: "cafe",
        location: { type: "Point", coordinates: [-74, 40.7] },
        tags: ["x", "y"],
        properties: { seats: 12, nested: { ok: true } },
        updatedAt: "2026-01-01T00:00:00.000Z",
      },
      distance: 12.5,
    },
    {
      place: {
        id: "b",
        name: "Beta",
        category: "park",
        location: { type: "Point", coordinates: [-74.1, 40.8] },
        tags: [],
        properties: {},
        updatedAt: "2026-01-02T00:00:00.000Z",
      },
      distance: 40,
    },
  ],
  next: "cursor-token",
};

const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** The FeatureCollection a leaf of NE renders for `page` (what `reply: "hits"` replaces). */
const asFeatures = (p: Page) =>
  pageToFeatureCollection({ ...p, hits: p.hits.map((h) => ({ ...h, region: "NE" })) });

function malformed(value: unknown): GeomeshError {
  try {
    readLeafPage(value, "NE");
  } catch (err) {
    if (err instanceof GeomeshError) return err;
    throw err;
  }
  throw new Error("accepted");
}

describe("compact leaf replies", () => {
  it("read back as the page a FeatureCollection gives, region included", () => {
    const fromHits = readLeafPage(viaJson(pageToHits(page)), "NE");
    const fromFeatures = readLeafPage(viaJson(asFeatures(page)), "NE");
    expect(fromHits).toEqual(fromFeatures);
    expect(fromHits.hits.map((h) => [h.place.id, h.region, h.distance])).toEqual([
      ["a", "NE", 12.5],
      ["b", "NE", 40],
    ]);
    expect(fromHits.next).toBe("cursor-token");
  });

  it("are smaller than the FeatureCollection they replace", () => {
    const compact = JSON.stringify(pageToHits(page)).length;
    const features = JSON.stringify(asFeatures(page)).length;
    expect(compact).toBeLessThan(features * 0.7);
  });

  it("without a distance (within, intersects) read as hits without one", () => {
    const { hits } = readLeafPage(
      viaJson(pageToHits({ hits: page.hits.map(({ place }) => ({ place })) })),
      "CA",
    );
    expect(hits.every((h) => h.distance === undefined && h.region === "CA")).toBe(true);
  });

  it("refuse hostile shapes with MALFORMED_REPLY, never a crash", () => {
    const good = pageToHits(page).hits[0]!;
    const hostile: unknown[] = [
      { hits: "nope" },
      { hits: [null] },
      { hits: [[]] },
      { hits: [good.slice(0, 7)] },
      { hits: [[...good, 1, 2]] },
      { hits: [[42, ...good.slice(1)]] },
      { hits: [[good[0], "-74", ...good.slice(2)]] },
      { hits: [[...good.slice(0, 5), "tags", ...good.slice(6)]] },
      { hits: [[...good.slice(0, 7), [1, 2]]] },
      { hits: [[...good.slice(0, 7), null]] },
      { hits: [[...good.slice(0, 8), "far"]] },
      { hits: [good], next: 7 },
      [],
      null,
      "FeatureCollection",
    ];
    for (const value of hostile)
      expect(malformed(value).code, JSON.stringify(value)).toBe("MALFORMED_REPLY");
  });
});
