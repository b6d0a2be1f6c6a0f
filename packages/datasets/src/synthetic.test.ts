import { distanceMeters } from "@geomesh/geo";
import { describe, expect, it } from "vitest";
import {
  MAX_SYNTHETIC,
  SYNTHETIC_CATEGORIES,
  SYNTHETIC_TAGS,
  sigmaKm,
  synthetic,
} from "./synthetic.js";
import type { UsCity } from "./us-cities.js";
import { validatePlaceBody } from "./validate-place.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

function take<T>(items: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length >= n) break;
    out.push(item);
  }
  return out;
}

const city = (name: string, population: number, lng: number, lat: number): UsCity => ({
  geonameId: population,
  name,
  state: "ZZ",
  population,
  lng,
  lat,
});

describe("synthetic", () => {
  it("is reproducible from the seed, and another seed gives other points", HEAVY, () => {
    const a = [...synthetic(2000, { seed: 42 })];
    expect([...synthetic(2000, { seed: 42 })]).toEqual(a);
    const b = [...synthetic(2000, { seed: 43 })];
    expect(b.map((p) => p.location.coordinates)).not.toEqual(a.map((p) => p.location.coordinates));
    expect(a.map((p) => p.id)).toEqual(Array.from({ length: 2000 }, (_, i) => `syn:42:${i}`));
    expect(take(synthetic(10), 1)[0]?.id).toBe("syn:1:0");
  });

  it("gives valid places with categories and distinct tags from the fixed lists", HEAVY, () => {
    for (const [i, place] of [...synthetic(5000, { seed: 9 })].entries()) {
      const result = validatePlaceBody(i + 1, place);
      expect(result.ok).toBe(true);
      expect(SYNTHETIC_CATEGORIES).toContain(place.category);
      expect(new Set(place.tags).size).toBe(place.tags.length);
      expect(place.tags.length).toBeLessThanOrEqual(3);
      for (const tag of place.tags) expect(SYNTHETIC_TAGS).toContain(tag);
    }
  });

  it("picks cities in proportion to population and keeps points within 3 sigma of their city", () => {
    const big = city("Big", 9_000_000, -74, 40.7);
    const small = city("Small", 1_000_000, -100, 35);
    const points = [
      ...synthetic(20_000, { seed: 5, cities: [big, small, city("Ghost", 0, 0, 0)] }),
    ];
    const nearBig = points.filter((p) => p.properties.city === "Big");
    expect(nearBig.length / points.length).toBeCloseTo(0.9, 1);
    expect(points.some((p) => p.properties.city === "Ghost")).toBe(false);
    for (const p of points) {
      const c = p.properties.city === "Big" ? big : small;
      expect(distanceMeters(p.location.coordinates, [c.lng, c.lat])).toBeLessThan(
        3 * sigmaKm(c.population) * 1000 * 1.01,
      );
    }
    // a bigger city spreads its points wider
    const spread = (c: UsCity): number => {
      const own = points.filter((p) => p.properties.city === c.name);
      return (
        own.reduce((s, p) => s + distanceMeters(p.location.coordinates, [c.lng, c.lat]), 0) /
        own.length
      );
    };
    expect(spread(big)).toBeGreaterThan(spread(small));
  });

  it("clamps points near the poles and the antimeridian to valid coordinates", () => {
    for (const p of synthetic(2000, {
      seed: 3,
      cities: [city("Edge", 9_000_000, 179.99, 89.99)],
    })) {
      const [lng, lat] = p.location.coordinates;
      expect(lng).toBeGreaterThanOrEqual(-180);
      expect(lng).toBeLessThanOrEqual(180);
      expect(lat).toBeLessThanOrEqual(90);
    }
  });

  it("is lazy: the first points of the largest allowed stream come at once", () => {
    const started = performance.now();
    expect(take(synthetic(MAX_SYNTHETIC, { seed: 7 }), 5)).toHaveLength(5);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("refuses hostile counts and seeds with CONFIG_INVALID when called", () => {
    for (const n of [-1, Number.NaN, 1.5, Infinity, MAX_SYNTHETIC + 1]) {
      expect(() => synthetic(n)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    }
    for (const seed of [-1, 2 ** 32, 0.5, Number.NaN]) {
      expect(() => synthetic(1, { seed })).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID" }),
      );
    }
    expect([...synthetic(0)]).toEqual([]);
  });

  it("generates points quickly (throughput printed for the record)", HEAVY, () => {
    const n = 200_000;
    const started = performance.now();
    let count = 0;
    for (const _ of synthetic(n, { seed: 11 })) count += 1;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `synthetic: ${Math.round(n / seconds).toLocaleString("en-US")} points/s (${n.toLocaleString("en-US")} in ${seconds.toFixed(2)} s)`,
    );
    expect(count).toBe(n);
  });
});
