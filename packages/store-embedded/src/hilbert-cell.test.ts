import type { Box } from "@geomesh/geo";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CELL_ORDER, cellAtLevel, cellOf, cellRanges, hilbertIndex } from "./hilbert-cell.js";

const lng = fc.double({ min: -180, max: 180, noNaN: true });
const lat = fc.double({ min: -90, max: 90, noNaN: true });

describe("hilbert cells", () => {
  it("visits the 4 cells of a level-1 grid in curve order", () => {
    expect([
      hilbertIndex(0, 0, 1),
      hilbertIndex(0, 1, 1),
      hilbertIndex(1, 1, 1),
      hilbertIndex(1, 0, 1),
    ]).toEqual([0, 1, 2, 3]);
  });

  it("gives every level's cell as a prefix of the leaf key", () => {
    fc.assert(
      fc.property(lng, lat, fc.integer({ min: 0, max: CELL_ORDER }), (x, y, level) => {
        expect(cellAtLevel(x, y, level)).toBe(Math.floor(cellOf(x, y) / 4 ** (CELL_ORDER - level)));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it("keeps leaf keys exact integers below 2^52", () => {
    for (const [x, y] of [
      [-180, -90],
      [180, 90],
      [180, -90],
      [-180, 90],
      [0, 0],
    ] as const) {
      const c = cellOf(x, y);
      expect(Number.isSafeInteger(c)).toBe(true);
      expect(c).toBeLessThan(2 ** 52);
    }
  });

  it("covers every point of a rectangle, edges included, with its key ranges", () => {
    const boxArb = fc.tuple(lng, lng, lat, lat).map(([a, b, c, d]): Box => [
      [Math.min(a, b), Math.min(c, d)],
      [Math.max(a, b), Math.max(c, d)],
    ]);
    fc.assert(
      fc.property(
        boxArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (box, u, v) => {
          const [[w, s], [e, n]] = box;
          const ranges = cellRanges(box);
          expect(ranges.length).toBeLessThanOrEqual(16);
          for (let i = 1; i < ranges.length; i++)
            expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1] + 1);
          for (const [x, y] of [
            [w + u * (e - w), s + v * (n - s)],
            [w, s],
            [e, n],
            [w, n],
            [e, s],
          ] as const) {
            const c = cellOf(Math.min(e, x), Math.min(n, y));
            expect(
              ranges.some(([lo, hi]) => c >= lo && c <= hi),
              `point ${x},${y}`,
            ).toBe(true);
          }
        },
      ),
      { seed: 11, numRuns: 3000 },
    );
  });

  it("keeps the covering of a small rectangle tight", () => {
    const ranges = cellRanges([
      [-74.01, 40.7],
      [-73.99, 40.72],
    ]);
    const covered = ranges.reduce((sum, [lo, hi]) => sum + (hi - lo + 1), 0);
    // The rectangle is ≈ 1/18 000 of the grid's width: its cover must be a tiny share of all keys.
    expect(covered / 4 ** CELL_ORDER).toBeLessThan(1e-7);
  });
});
