import { describe, expect, it } from "vitest";
import { preparePlaces } from "./place-checks.js";
import { place } from "./testing/place-fixtures.js";

describe("batch validation", () => {
  it("normalises places: defaults tags, properties and updatedAt, drops unknown fields", () => {
    const now = new Date("2025-03-01T10:00:00Z");
    const input = {
      id: "a",
      name: "A",
      category: "cafe",
      location: { type: "Point", coordinates: [1, 2] },
      extra: 1,
    };
    const [p] = preparePlaces([input as never], now);
    expect(p).toEqual({
      id: "a",
      name: "A",
      category: "cafe",
      location: { type: "Point", coordinates: [1, 2] },
      tags: [],
      properties: {},
      updatedAt: "2025-03-01T10:00:00.000Z",
    });
  });

  it.each([
    ["an id with a space", { id: "a b" }, "VALIDATION_FAILED", "places[0].id"],
    [
      "a latitude out of range",
      { location: { type: "Point", coordinates: [0, 91] } },
      "GEO_INVALID_GEOMETRY",
      "places[0].location.coordinates",
    ],
    [
      "a non-Point location",
      {
        location: {
          type: "LineString",
          coordinates: [
            [0, 0],
            [1, 1],
          ],
        },
      },
      "GEO_INVALID_GEOMETRY",
      "places[0].location",
    ],
    ["an empty category", { category: "" }, "VALIDATION_FAILED", "places[0].category"],
    [
      "a $-key in properties",
      { properties: { $set: 1 } },
      "VALIDATION_FAILED",
      "places[0].properties",
    ],
    ["a bad timestamp", { updatedAt: "yesterday" }, "VALIDATION_FAILED", "places[0].updatedAt"],
  ])("rejects %s, naming the field", (_what, patch, code, field) => {
    const bad = { ...place("x", [0, 0]), ...patch };
    let error: unknown;
    try {
      preparePlaces([bad as never]);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code });
    expect((error as Error).message.startsWith(field)).toBe(true);
  });

  it("rejects duplicate ids in one batch", () => {
    expect(() => preparePlaces([place("d", [0, 0]), place("d", [1, 1])])).toThrow(
      /places\[1\]\.id: duplicates the id of places\[0\]/,
    );
  });
});
