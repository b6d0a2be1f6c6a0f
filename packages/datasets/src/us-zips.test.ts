import { describe, expect, it } from "vitest";
import { validatePlaceBody } from "./validate-place.js";
import { zips } from "./us-zips.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

describe("zips", () => {
  const places = zips();

  it("holds every us-zips centroid as a zip:<code> place named by its code", () => {
    expect(places.length).toBe(33_791);
    expect(new Set(places.map((p) => p.id)).size).toBe(places.length);
    expect(places.find((p) => p.id === "zip:54301")).toEqual({
      id: "zip:54301",
      name: "54301",
      category: "zip",
      location: { type: "Point", coordinates: [-88.016063, 44.480778] },
      tags: [],
      properties: {},
    });
    expect(places.some((p) => p.id === "zip:00601")).toBe(true); // Puerto Rico keeps its leading zeros
  });

  it("gives places that all pass the place validator", HEAVY, () => {
    expect(places.map((p, i) => validatePlaceBody(i + 1, p)).filter((r) => !r.ok)).toEqual([]);
  });
});
