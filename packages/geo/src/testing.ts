/**
 * Brute-force oracles: the reference answers every store and coordinator must reproduce, computed
 * by scanning every place with the plain spherical functions. For tests only (O(n) per query).
 */
import { encodeIdCursor, encodeNearCursor } from "./cursor.js";
import {
  type AggregateQuery,
  compareIds,
  compareNear,
  type CountQuery,
  type GridCounts,
  type IntersectsQuery,
  type NearQuery,
  type Page,
  type Place,
  type PlaceHit,
  type Selection,
  type WithinQuery,
} from "./model.js";
import { matchesFilter } from "./place.js";
import { aggregateCellOf, distanceMeters, pointIntersects, pointInShape } from "./spherical.js";

function page(sorted: PlaceHit[], limit: number, cursor: (last: PlaceHit) => string): Page {
  const hits = sorted.slice(0, limit);
  const last = hits[hits.length - 1];
  return sorted.length > limit && last !== undefined ? { hits, next: cursor(last) } : { hits };
}

/** Near by scanning: distance within [minDistance, maxDistance] (inclusive), after the cursor, by (distance, id). */
export function bruteForceNear(places: readonly Place[], query: NearQuery): Page {
  const min = query.minDistance ?? 0;
  const max = query.maxDistance ?? Infinity;
  const hits: { place: Place; distance: number }[] = [];
  for (const place of places) {
    const distance = distanceMeters(query.point, place.location.coordinates);
    if (distance < min || distance > max || !matchesFilter(place, query.filter)) continue;
    if (query.cursor !== undefined && compareNear({ distance, id: place.id }, query.cursor) <= 0)
      continue;
    hits.push({ place, distance });
  }
  hits.sort((a, b) =>
    compareNear({ distance: a.distance, id: a.place.id }, { distance: b.distance, id: b.place.id }),
  );
  return page(hits, query.limit, (last) =>
    encodeNearCursor({ distance: last.distance!, id: last.place.id }),
  );
}

function byId(
  places: readonly Place[],
  test: (p: Place) => boolean,
  limit: number,
  after: string | undefined,
): Page {
  const hits = places
    .filter((p) => (after === undefined || compareIds(p.id, after) > 0) && test(p))
    .sort((a, b) => compareIds(a.id, b.id))
    .map((place) => ({ place }));
  return page(hits, limit, (last) => encodeIdCursor({ id: last.place.id }));
}

/** Within by scanning: inside the shape (boundary inclusive), after the cursor, by id. */
export function bruteForceWithin(places: readonly Place[], query: WithinQuery): Page {
  return byId(
    places,
    (p) => matchesFilter(p, query.filter) && pointInShape(p.location.coordinates, query.shape),
    query.limit,
    query.cursor?.id,
  );
}

/** Intersects by scanning: the location intersects the geometry (boundary inclusive), after the cursor, by id. */
export function bruteForceIntersects(places: readonly Place[], query: IntersectsQuery): Page {
  return byId(
    places,
    (p) =>
      matchesFilter(p, query.filter) && pointIntersects(p.location.coordinates, query.geometry),
    query.limit,
    query.cursor?.id,
  );
}

/** Whether a place's location is in a count selection. */
export function inSelection(place: Place, selection: Selection): boolean {
  const at = place.location.coordinates;
  switch (selection.kind) {
    case "near": {
      const d = distanceMeters(selection.point, at);
      return d >= (selection.minDistance ?? 0) && d <= selection.maxDistance;
    }
    case "within":
      return pointInShape(at, selection.shape);
    case "intersects":
      return pointIntersects(at, selection.geometry);
  }
}

/** Count by scanning. */
export function bruteForceCount(places: readonly Place[], query: CountQuery): number {
  let n = 0;
  for (const p of places)
    if (matchesFilter(p, query.filter) && inSelection(p, query.selection)) n++;
  return n;
}

/** Grid counts by scanning, binned with `aggregateCellOf`. */
export function bruteForceAggregate(places: readonly Place[], query: AggregateQuery): GridCounts {
  const [cols, rows] = query.cells;
  const counts = new Array<number>(cols * rows).fill(0);
  for (const p of places) {
    if (!matchesFilter(p, query.filter)) continue;
    const cell = aggregateCellOf(p.location.coordinates, query.box, query.cells);
    if (cell !== undefined) counts[cell]!++;
  }
  return { box: query.box, cells: query.cells, counts };
}

/** A deterministic pseudo-random generator (mulberry32) for reproducible fixtures. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` reproducible places scattered in a lng/lat box (ids `p00000`…), for tests of stores and merges. */
export function samplePlaces(
  n: number,
  seed = 1,
  box: readonly [[number, number], [number, number]] = [
    [-125, 24],
    [-66, 50],
  ],
): Place[] {
  const rnd = seededRandom(seed);
  const [[w, s], [e, nn]] = box;
  const categories = ["cafe", "park", "museum", "school", "shop"];
  const tagPool = ["wifi", "outdoor", "free", "family", "late"];
  return Array.from({ length: n }, (_, i): Place => {
    const lng = w + rnd() * (e - w);
    const lat = s + rnd() * (nn - s);
    return {
      id: `p${String(i).padStart(5, "0")}`,
      name: `${categories[i % categories.length]} ${i}`,
      category: categories[Math.floor(rnd() * categories.length)]!,
      location: {
        type: "Point",
        coordinates: [Math.round(lng * 1e6) / 1e6, Math.round(lat * 1e6) / 1e6],
      },
      tags: tagPool.filter(() => rnd() < 0.3),
      properties: {},
      updatedAt: new Date(
        Date.UTC(2024, 0, 1) + Math.floor(rnd() * 365) * 86_400_000,
      ).toISOString(),
    };
  });
}

export {
  DISTANCE_TOLERANCE_M,
  type Feature,
  type FeatureCollection,
  firstDifference,
  offset,
  regionsWithin,
  round6,
  sampleOutlines,
  starPolygon,
} from "./testing-cross-region.js";
