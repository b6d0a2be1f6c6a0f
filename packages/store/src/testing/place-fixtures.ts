/** Builders for places and queries used by the conformance suite (and handy in other tests). */
import type { LngLat, Page, PlaceInput } from "@geomesh/geo";

/** The `updatedAt` fixtures use unless told otherwise, so oracle comparisons are deterministic. */
export const FIXTURE_TIME = "2024-01-01T00:00:00.000Z";

/** A place at `[lng, lat]` with defaults for every other field. */
export function place(
  id: string,
  coordinates: LngLat,
  extra: Partial<Omit<PlaceInput, "id" | "location">> = {},
): PlaceInput {
  return {
    id,
    name: extra.name ?? `Place ${id}`,
    category: extra.category ?? "poi",
    location: { type: "Point", coordinates: [coordinates[0], coordinates[1]] },
    tags: extra.tags ?? [],
    properties: extra.properties ?? {},
    updatedAt: extra.updatedAt ?? FIXTURE_TIME,
  };
}

/** Ids of a page's hits, in order. */
export function idsOf(page: Page): string[] {
  return page.hits.map((h) => h.place.id);
}

/** Distances of a page's hits, in order (NaN where absent). */
export function distancesOf(page: Page): number[] {
  return page.hits.map((h) => h.distance ?? Number.NaN);
}
