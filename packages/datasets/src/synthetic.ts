import { GeomeshError } from "@geomesh/errors";
import type { PlaceInput } from "@geomesh/geo";
import { createPrng } from "./prng.js";
import { usCities, type UsCity } from "./us-cities.js";

/** The most points `synthetic()` will generate in one stream. */
export const MAX_SYNTHETIC = 50_000_000;

/** Seed used when none is given. */
export const DEFAULT_SEED = 1;

/** Categories of synthetic places (picked uniformly). */
export const SYNTHETIC_CATEGORIES = [
  "restaurant",
  "cafe",
  "bar",
  "shop",
  "supermarket",
  "pharmacy",
  "hospital",
  "school",
  "park",
  "museum",
  "hotel",
  "fuel",
  "bank",
  "gym",
  "library",
  "cinema",
  "parking",
  "office",
] as const;

/** Tags of synthetic places (0–3 distinct per place, in list order). */
export const SYNTHETIC_TAGS = [
  "open-24h",
  "wheelchair",
  "wifi",
  "outdoor-seating",
  "parking",
  "delivery",
  "takeaway",
  "family",
  "pet-friendly",
  "cash-only",
  "vegan",
  "accessible",
] as const;

const KM_PER_DEGREE = (6378.1 * Math.PI) / 180; // MongoDB's earth radius
const MAX_SIGMA_KM = 15;
/** Offsets are cut at 3 sigma, so a point is never more than 45 km from its city (regions accept 50 km). */
const TRUNCATE_SIGMA = 3;

/** Spread of points around a city: grows with the square root of its population, 0.5 km to 15 km. */
export function sigmaKm(population: number): number {
  return Math.min(MAX_SIGMA_KM, 0.5 + 0.005 * Math.sqrt(population));
}

export interface SyntheticOptions {
  /** Unsigned 32-bit seed; the same seed and `n` give the same points. Default 1. */
  readonly seed?: number;
  /** Cities to scatter around (default: the bundled US cities). Chosen with probability ∝ population. */
  readonly cities?: readonly UsCity[];
}

/** Checks a synthetic count: a whole number in [0, MAX_SYNTHETIC]. */
export function checkSyntheticCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SYNTHETIC) {
    throw new GeomeshError(
      "CONFIG_INVALID",
      `synthetic count must be a whole number from 0 to ${MAX_SYNTHETIC}, got ${String(n)}`,
    );
  }
  return n;
}

/** Checks a seed: a whole number in [0, 2^32). */
export function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new GeomeshError(
      "CONFIG_INVALID",
      `synthetic seed must be a whole number from 0 to 4294967295, got ${String(seed)}`,
    );
  }
  return seed;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * Lazily generates `n` reproducible synthetic places around real US cities: each picks a city
 * with probability ∝ population, offsets it by a 2-D gaussian (sigma from `sigmaKm`, cut at 3
 * sigma), clamps to valid coordinates (6 decimals), and draws a category and tags from fixed
 * lists. Ids are `syn:<seed>:<i>` for i in [0, n). Uses its own PRNG (mulberry32), never
 * Math.random, so the stream depends only on (n, seed, cities).
 */
export function synthetic(
  n: number,
  options: SyntheticOptions = {},
): Generator<PlaceInput, void, undefined> {
  // Checked here, not on the first next(), so a bad request fails where it is made.
  const count = checkSyntheticCount(n);
  const seed = checkSeed(options.seed ?? DEFAULT_SEED);
  const cities = (options.cities ?? usCities()).filter((c) => c.population > 0);
  if (cities.length === 0)
    throw new GeomeshError("CONFIG_INVALID", "synthetic needs at least one city with a population");
  return generate(count, seed, cities);
}

function* generate(
  count: number,
  seed: number,
  cities: readonly UsCity[],
): Generator<PlaceInput, void, undefined> {
  const cumulative = new Float64Array(cities.length);
  let total = 0;
  cities.forEach((city, i) => {
    total += city.population;
    cumulative[i] = total;
  });
  const sigmas = cities.map((c) => sigmaKm(c.population));
  const prng = createPrng(seed);

  for (let i = 0; i < count; i += 1) {
    // Weighted pick: first city whose cumulative population exceeds the draw (binary search).
    const target = prng.next() * total;
    let lo = 0;
    let hi = cities.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    const city = cities[lo]!;
    let dx: number;
    let dy: number;
    do {
      dx = prng.gaussian();
      dy = prng.gaussian();
    } while (dx * dx + dy * dy > TRUNCATE_SIGMA * TRUNCATE_SIGMA);
    const sigma = sigmas[lo]!;
    const lat = clamp(city.lat + (dy * sigma) / KM_PER_DEGREE, -90, 90);
    const cosLat = Math.max(Math.cos((lat * Math.PI) / 180), 0.01);
    const lng = clamp(city.lng + (dx * sigma) / (KM_PER_DEGREE * cosLat), -180, 180);

    const category = SYNTHETIC_CATEGORIES[prng.int(SYNTHETIC_CATEGORIES.length)]!;
    const tagCount = prng.int(4);
    let mask = 0;
    for (let t = 0; t < tagCount; t += 1) mask |= 1 << prng.int(SYNTHETIC_TAGS.length);
    const tags: string[] = [];
    for (let t = 0; t < SYNTHETIC_TAGS.length; t += 1)
      if (mask & (1 << t)) tags.push(SYNTHETIC_TAGS[t]!);

    yield {
      id: `syn:${seed}:${i}`,
      name: `${category} ${i} near ${city.name}`,
      category,
      location: { type: "Point", coordinates: [round6(lng), round6(lat)] },
      tags,
      properties: { city: city.name, state: city.state },
    };
  }
}
