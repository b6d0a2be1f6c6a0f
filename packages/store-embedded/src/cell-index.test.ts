import { distanceMeters, type LngLat } from "@geomesh/geo";
import { seededRandom } from "@geomesh/geo/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CellIndex, type IndexHit, rectDistanceLowerBound } from "./cell-index.js";
import { cellOf } from "./hilbert-cell.js";

const lng = fc.double({ min: -180, max: 180, noNaN: true });
const lat = fc.double({ min: -90, max: 90, noNaN: true });
/** Points that crowd the seams: poles, the antimeridian, the equator, exact duplicates. */
const point: fc.Arbitrary<LngLat> = fc.oneof(
  fc.tuple(lng, lat),
  fc.tuple(fc.constantFrom(-180, 180, 179.9999, -179.9999, 0), lat),
  fc.tuple(lng, fc.constantFrom(90, -90, 89.9999, -89.9999, 0)),
  fc.constantFrom<LngLat>([0, 0], [180, 90], [-180, -90], [10, 45], [10, 45]),
);

interface Entry {
  readonly pk: number;
  readonly p: LngLat;
}

/**
 * The oracle: every entry's exact distance and position, sorted; the k-th distance and everything
 * tied with it.
 */
function bruteForce(
  entries: readonly Entry[],
  q: LngLat,
  need: number,
  lower: number,
  upper: number,
  accept?: (pk: number, d: number) => boolean,
): IndexHit[] {
  const all = entries
    .map((e) => ({ pk: e.pk, d: distanceMeters(q, e.p), lng: e.p[0], lat: e.p[1] }))
    .filter(({ pk, d }) => d >= lower && d <= upper && (accept === undefined || accept(pk, d)))
    .sort((a, b) => a.d - b.d || a.pk - b.pk);
  let take = Math.min(need, all.length);
  const cutoff = all[take - 1]?.d;
  while (take < all.length && all[take]!.d === cutoff) take++;
  return all.slice(0, take);
}

const sorted = (hits: readonly IndexHit[]) => [...hits].sort((a, b) => a.d - b.d || a.pk - b.pk);

describe("rectDistanceLowerBound", () => {
  it("never exceeds the distance to any point of the rectangle, and is reached at its nearest point", () => {
    fc.assert(
      fc.property(point, point, point, fc.double({ min: 0, max: 1, noNaN: true }), (q, a, b, t) => {
        const w = Math.min(a[0], b[0]);
        const e = Math.max(a[0], b[0]);
        const s = Math.min(a[1], b[1]);
        const n = Math.max(a[1], b[1]);
        const lb = rectDistanceLowerBound(q[0], q[1], w, e, s, n);
        // Points inside (corners, edges, the interior) are never closer than the bound.
        const inside: LngLat[] = [
          [w, s],
          [e, n],
          [w + (e - w) * t, s],
          [w, s + (n - s) * t],
          [e, s + (n - s) * t],
          [w + (e - w) * t, n],
          [w + (e - w) * t, s + (n - s) * (1 - t)],
        ];
        for (const p of inside) expect(lb).toBeLessThanOrEqual(distanceMeters(q, p));
      }),
      { numRuns: 3000 },
    );
  });

  it("is tight: within a metre of a dense sample's minimum for small rectangles", () => {
    const rnd = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const q: LngLat = [rnd() * 360 - 180, rnd() * 180 - 90];
      const w = rnd() * 350 - 180;
      const s = rnd() * 170 - 90;
      const e = w + rnd() * 10;
      const n = s + rnd() * 10;
      let best = Infinity;
      for (let k = 0; k <= 400; k++) {
        const f = k / 400;
        for (const p of [
          [w, s + (n - s) * f],
          [e, s + (n - s) * f],
          [w + (e - w) * f, s],
          [w + (e - w) * f, n],
        ] as LngLat[])
          best = Math.min(best, distanceMeters(q, p));
      }
      const lb = rectDistanceLowerBound(q[0], q[1], w, e, s, n);
      expect(lb).toBeLessThanOrEqual(best);
      // The sample is a grid of the boundary, so its minimum overshoots by at most a step.
      expect(best - lb).toBeLessThan(((10 / 400) * 111_320) / 2 + 1);
    }
  });
});

describe("CellIndex", () => {
  it("answers kNN like a brute-force scan after inserts and removes, with bounds and tie-breaks", () => {
    fc.assert(
      fc.property(
        fc.array(point, { minLength: 0, maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 100 }),
        point,
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 2e7, noNaN: true }),
        fc.double({ min: 0, max: 2.1e7, noNaN: true }),
        fc.boolean(),
        (points, removals, q, need, a, b, withAccept) => {
          const index = new CellIndex();
          let entries: Entry[] = points.map((p, i) => ({ pk: i + 1, p }));
          // Half loaded in bulk (key order), half inserted one by one.
          const half = Math.floor(entries.length / 2);
          index.load(
            entries
              .slice(0, half)
              .map((e) => [cellOf(e.p[0], e.p[1]), e.p[0], e.p[1], e.pk] as const)
              .sort((x, y) => x[0] - y[0]),
          );
          for (const e of entries.slice(half))
            index.insert(cellOf(e.p[0], e.p[1]), e.p[0], e.p[1], e.pk);
          for (const r of removals) {
            const victim = entries[r % Math.max(1, entries.length)];
            if (victim === undefined) break;
            expect(index.remove(cellOf(victim.p[0], victim.p[1]), victim.pk)).toBe(true);
            entries = entries.filter((e) => e.pk !== victim.pk);
          }
          expect(index.size).toBe(entries.length);
          // With a tie-break (a cursor) the lower bound is the cursor's distance: some entry's.
          const at = entries[Math.floor(a) % Math.max(1, entries.length)];
          const lower =
            withAccept && at !== undefined ? distanceMeters(q, at.p) : Math.min(a, b) / 4;
          const upper = withAccept ? Infinity : Math.max(a, b);
          const accept = withAccept
            ? (pk: number, d: number) => d !== lower || pk % 3 !== 0
            : undefined;
          const got = index.nearest(q, { need, lower, upper, ...(accept ? { accept } : {}) });
          expect(sorted(got)).toEqual(bruteForce(entries, q, need, lower, upper, accept));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("keeps one entry per pk through chunk splits, duplicate keys and removal of missing entries", () => {
    const index = new CellIndex();
    const rnd = seededRandom(3);
    const live = new Map<number, LngLat>();
    for (let pk = 1; pk <= 6000; pk++) {
      // Many identical points (one key) so equal keys span several chunks.
      const p: LngLat = pk % 4 === 0 ? [12.5, 41.9] : [12 + rnd(), 41 + rnd()];
      index.insert(cellOf(p[0], p[1]), p[0], p[1], pk);
      live.set(pk, p);
    }
    for (let pk = 1; pk <= 6000; pk += 3) {
      const p = live.get(pk)!;
      expect(index.remove(cellOf(p[0], p[1]), pk)).toBe(true);
      expect(index.remove(cellOf(p[0], p[1]), pk)).toBe(false);
      live.delete(pk);
    }
    expect(index.remove(cellOf(0, 0), 99_999)).toBe(false);
    expect(index.size).toBe(live.size);
    const entries = [...live].map(([pk, p]) => ({ pk, p }));
    for (const q of [
      [12.5, 41.9],
      [12.2, 41.3],
      [-70, -30],
    ] as LngLat[]) {
      const got = index.nearest(q, { need: 50, lower: 0, upper: Infinity });
      expect(sorted(got)).toEqual(bruteForce(entries, q, 50, 0, Infinity));
    }
  });

  it("visits a small neighbourhood on clustered data, not the whole index", () => {
    const index = new CellIndex();
    const rnd = seededRandom(11);
    const n = 50_000;
    for (let pk = 1; pk <= n; pk++) {
      const c = pk % 20;
      const p: LngLat = [-120 + c * 2.5 + (rnd() - 0.5) * 0.4, 30 + (c % 7) + (rnd() - 0.5) * 0.3];
      index.insert(cellOf(p[0], p[1]), p[0], p[1], pk);
    }
    const before = index.pointsVisited;
    for (let i = 0; i < 200; i++)
      index.nearest([-120 + rnd() * 50, 30 + rnd() * 7], { need: 11, lower: 0, upper: Infinity });
    expect((index.pointsVisited - before) / 200).toBeLessThan(400);
  });
});
