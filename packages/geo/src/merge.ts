/**
 * Merging per-region answers into the answer one global index would give (as mongos merge-sorts
 * `$near` across shards), and planning which regions a near query must ask.
 */
import { GeomeshError } from "@geomesh/errors";
import { encodeIdCursor, encodeNearCursor } from "./cursor.js";
import {
  compareIds,
  compareNear,
  type GridCounts,
  type NearQuery,
  type Page,
  type PlaceHit,
} from "./model.js";
import { REGION_MARGIN_M, type RegionMap } from "./region-map.js";

function distanceOf(hit: PlaceHit): number {
  if (hit.distance === undefined)
    throw new GeomeshError("MALFORMED_REPLY", "a near result carried no distance");
  return hit.distance;
}

function finish(
  sorted: PlaceHit[],
  pages: readonly Page[],
  limit: number,
  cursor: (last: PlaceHit) => string,
): Page {
  const hits = sorted.slice(0, limit);
  const more = sorted.length > limit || pages.some((p) => p.next !== undefined);
  const last = hits[hits.length - 1];
  return more && last !== undefined ? { hits, next: cursor(last) } : { hits };
}

function unique(hits: PlaceHit[]): PlaceHit[] {
  const seen = new Set<string>();
  return hits.filter((h) => (seen.has(h.place.id) ? false : (seen.add(h.place.id), true)));
}

/**
 * Merges near pages from several regions (each the first `limit` hits after the same cursor) by
 * (distance, id), keeps `limit`, and sets `next` to the last kept hit when any region has more or
 * hits were cut — so the next round, sent to the same regions with that cursor, continues exactly.
 */
export function mergeNearPages(pages: readonly Page[], limit: number): Page {
  const all = unique(
    pages
      .flatMap((p) => p.hits)
      .sort((a, b) =>
        compareNear(
          { distance: distanceOf(a), id: a.place.id },
          { distance: distanceOf(b), id: b.place.id },
        ),
      ),
  );
  return finish(all, pages, limit, (last) =>
    encodeNearCursor({ distance: distanceOf(last), id: last.place.id }),
  );
}

/** Merges within/intersects pages by id (see `mergeNearPages` for `limit` and `next`). */
export function mergeIdPages(pages: readonly Page[], limit: number): Page {
  const all = unique(
    pages.flatMap((p) => p.hits).sort((a, b) => compareIds(a.place.id, b.place.id)),
  );
  return finish(all, pages, limit, (last) => encodeIdCursor({ id: last.place.id }));
}

/** Sums per-region counts. */
export function mergeCounts(counts: readonly number[]): number {
  return counts.reduce((a, b) => a + b, 0);
}

/** Sums per-region grids cell by cell (all must share box and cells). */
export function mergeGridCounts(grids: readonly GridCounts[]): GridCounts | undefined {
  const first = grids[0];
  if (first === undefined) return undefined;
  const counts = new Array<number>(first.counts.length).fill(0);
  for (const g of grids) {
    if (g.counts.length !== counts.length)
      throw new GeomeshError("MALFORMED_REPLY", "grid replies have different sizes");
    g.counts.forEach((c, i) => (counts[i]! += c));
  }
  return { box: first.box, cells: first.cells, counts };
}

/** The distance of the `limit`-th hit of a merged near page, or undefined when it has fewer hits. */
export function kthDistance(page: Page, limit: number): number | undefined {
  const hit = page.hits[limit - 1];
  return hit === undefined ? undefined : distanceOf(hit);
}

/** A region that may hold near results, with a lower bound on their distance from the query point. */
export interface NearCandidate {
  readonly region: string;
  /** max(0, distance to the region's polygon − 50 km), in metres. */
  readonly lowerBound: number;
}

/** Which regions a coordinator asks for a near query, and in what order. */
export interface NearPlan {
  /** Every region that could hold a result, by lower bound then configuration order. */
  readonly candidates: readonly NearCandidate[];
  /** Ask these first: regions within 50 km of the point, or else the nearest one. */
  readonly first: readonly string[];
  /**
   * Regions still to ask after merging the answers of `asked`: those whose lower bound is
   * ≤ the merged k-th distance (or ≤ maxDistance / everything when fewer than `limit` hits).
   * After asking them and merging again, the answer equals a global index's. When the merged
   * page is full and nothing asked has more (`fullWithoutNext`), every other candidate is asked
   * too: one of them may hold a hit beyond the k-th, and only that decides the page's `next` —
   * without it a cursor walk would stop early and miss the farther regions' places.
   */
  further(kth: number | undefined, asked: Iterable<string>, fullWithoutNext?: boolean): string[];
}

/**
 * Plans a near query across regions. A place owned by region R is inside R's polygon or within
 * 50 km of it, so it is at least `distanceToRegion − 50 km` from the query point: regions whose
 * bound exceeds maxDistance are never asked, and those whose bound exceeds the k-th distance
 * found so far cannot change the answer.
 */
export function planNear(query: NearQuery, map: RegionMap): NearPlan {
  const max = query.maxDistance ?? Infinity;
  const order = map.names();
  // A region's bound is measured exactly only when the cached bounds of the query's cell cannot
  // decide the question asked (within 50 km for `first`, ≤ the k-th distance for `further`).
  const range = map.distanceBounds(query.point);
  const exact = new Map<string, number>();
  /** The region's exact lower bound if it is ≤ `upTo` metres (1 m of slack), else undefined. */
  const boundWithin = (region: string, upTo: number): number | undefined => {
    const i = order.indexOf(region);
    if (range[2 * i + 1]! <= REGION_MARGIN_M) return 0;
    if (range[2 * i]! - REGION_MARGIN_M > upTo + 1) return undefined;
    let bound = exact.get(region);
    if (bound === undefined) {
      bound = Math.max(0, map.distanceToRegion(query.point, region) - REGION_MARGIN_M);
      exact.set(region, bound);
    }
    // 1 m of slack: float noise may only add a region, never drop one.
    return bound <= upTo + 1 ? bound : undefined;
  };
  const reachable = (upTo: number, skip?: Set<string>): NearCandidate[] =>
    order
      .filter((region) => !skip?.has(region))
      .map((region) => ({ region, lowerBound: boundWithin(region, upTo) }))
      .filter((c): c is NearCandidate => c.lowerBound !== undefined)
      .sort(
        (a, b) => a.lowerBound - b.lowerBound || order.indexOf(a.region) - order.indexOf(b.region),
      );
  const within = reachable(0)
    .filter((c) => c.lowerBound === 0)
    .map((c) => c.region);
  let all: NearCandidate[] | undefined;
  const candidates = () => (all ??= reachable(max));
  return {
    get candidates() {
      return candidates();
    },
    first:
      within.length > 0
        ? within
        : candidates()
            .slice(0, 1)
            .map((c) => c.region),
    further(kth, asked, fullWithoutNext = false) {
      const upTo = Math.min(fullWithoutNext ? Infinity : (kth ?? Infinity), max);
      return reachable(upTo, new Set(asked)).map((c) => c.region);
    },
  };
}
