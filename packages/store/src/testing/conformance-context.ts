/** Shared plumbing of the conformance suite: the per-test store, paging and tolerance helpers. */
import {
  decodeIdCursor,
  decodeNearCursor,
  type IntersectsQuery,
  type NearQuery,
  type Page,
  type PlaceHit,
  type WithinQuery,
} from "@geomesh/geo";
import { expect } from "vitest";
import type { GeoStore } from "../geo-store.js";

/** Builds a fresh, empty store (not yet initialised) for one test or group. */
export type StoreFactory = () => Promise<GeoStore>;

/** Options of `describeGeoStoreConformance`. */
export interface ConformanceOptions {
  /** Timeout of each test in ms (default 30 000). */
  readonly timeoutMs?: number;
  /** Randomized queries per kind (default 25). */
  readonly randomRuns?: number;
  /** Seed of the randomized cases (default 20240601; `GEOMESH_CONFORMANCE_SEED` overrides). */
  readonly seed?: number;
  /** Called after a test's store is closed (drop a collection, delete a file). */
  readonly dispose?: (store: GeoStore) => Promise<void>;
}

/** Access to the current test's store. */
export interface ConformanceContext {
  /** The store of the running test: initialised and empty when the test starts. */
  store(): GeoStore;
  readonly options: ConformanceOptions;
}

/**
 * Distances from different backends agree to float noise (haversine here, S2's vector angle in
 * MongoDB): 1 µm plus one part in 10⁹.
 */
export function expectDistanceClose(
  actual: number | undefined,
  expected: number,
  label = "distance",
): void {
  expect(actual, label).toBeTypeOf("number");
  const tolerance = 1e-6 + 1e-9 * Math.abs(expected);
  expect(
    Math.abs((actual ?? Number.NaN) - expected),
    `${label}: ${actual} vs ${expected}`,
  ).toBeLessThanOrEqual(tolerance);
}

/** Every hit of a near query, following `next` cursors; also checks no page exceeds its limit. */
export async function allNearPages(
  store: GeoStore,
  query: NearQuery,
  maxPages = 1000,
): Promise<{ hits: PlaceHit[]; pages: number }> {
  const hits: PlaceHit[] = [];
  let q: NearQuery = { ...query };
  for (let pages = 1; pages <= maxPages; pages++) {
    const page: Page = await store.near(q);
    expect(page.hits.length).toBeLessThanOrEqual(query.limit);
    hits.push(...page.hits);
    if (page.next === undefined) return { hits, pages };
    q = { ...query, cursor: decodeNearCursor(page.next) };
  }
  throw new Error(`near paging did not finish in ${maxPages} pages`);
}

/** Every hit of a within/intersects query, following `next` cursors. */
export async function allIdPages<Q extends WithinQuery | IntersectsQuery>(
  run: (q: Q) => Promise<Page>,
  query: Q,
  maxPages = 1000,
): Promise<{ hits: PlaceHit[]; pages: number }> {
  const hits: PlaceHit[] = [];
  let q: Q = { ...query };
  for (let pages = 1; pages <= maxPages; pages++) {
    const page = await run(q);
    expect(page.hits.length).toBeLessThanOrEqual(query.limit);
    hits.push(...page.hits);
    if (page.next === undefined) return { hits, pages };
    q = { ...query, cursor: decodeIdCursor(page.next) };
  }
  throw new Error(`paging did not finish in ${maxPages} pages`);
}
