import { describe, expect, it } from "vitest";
import type { Place } from "./model.js";
import { completePlace, matchesFilter } from "./place.js";

const place: Place = {
  id: "a",
  name: "Blue Bottle",
  category: "cafe",
  location: { type: "Point", coordinates: [0, 0] },
  tags: ["wifi", "late"],
  properties: {},
  updatedAt: "2024-05-01T12:00:00.000Z",
};

describe("matchesFilter", () => {
  it("matches a category or any of several", () => {
    expect(matchesFilter(place, { category: "cafe" })).toBe(true);
    expect(matchesFilter(place, { category: ["park", "cafe"] })).toBe(true);
    expect(matchesFilter(place, { category: "park" })).toBe(false);
  });

  it("requires every listed tag", () => {
    expect(matchesFilter(place, { tags: ["wifi", "late"] })).toBe(true);
    expect(matchesFilter(place, { tags: ["wifi", "free"] })).toBe(false);
    expect(matchesFilter(place, { tags: [] })).toBe(true);
  });

  it("matches a case-sensitive name prefix", () => {
    expect(matchesFilter(place, { namePrefix: "Blue" })).toBe(true);
    expect(matchesFilter(place, { namePrefix: "blue" })).toBe(false);
  });

  it("treats updatedAt.from as inclusive and updatedAt.to as exclusive", () => {
    expect(matchesFilter(place, { updatedAt: { from: "2024-05-01T12:00:00.000Z" } })).toBe(true);
    expect(matchesFilter(place, { updatedAt: { to: "2024-05-01T12:00:00.000Z" } })).toBe(false);
    expect(matchesFilter(place, { updatedAt: { to: "2024-05-01T12:00:00.001Z" } })).toBe(true);
  });

  it("requires every clause", () => {
    expect(matchesFilter(place, { category: "cafe", namePrefix: "Red" })).toBe(false);
    expect(matchesFilter(place, undefined)).toBe(true);
  });
});

describe("completePlace", () => {
  it("stamps updatedAt only when the input has none", () => {
    const { updatedAt: _u, ...input } = place;
    expect(completePlace(input, new Date(0)).updatedAt).toBe("1970-01-01T00:00:00.000Z");
    expect(completePlace(place, new Date(0)).updatedAt).toBe(place.updatedAt);
  });
});
