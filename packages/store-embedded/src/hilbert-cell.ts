/**
 * Spatial keys for the SQLite B-tree index: a point's cell is its position on a Hilbert curve of
 * order 26 over the equirectangular lng/lat grid (2^26 × 2^26 cells, ≈ 0.6 m × 0.3 m at the
 * equator), a 52-bit integer that is exact in a JS number and in SQLite's INTEGER.
 *
 * A quadtree cell at any level is one contiguous range of leaf keys (the curve visits it in one
 * pass), so a lng/lat rectangle becomes a few `cell BETWEEN lo AND hi` ranges. The grid is not
 * equal-area (cells shrink towards the poles); that only costs efficiency there, never
 * correctness, because every candidate is re-checked exactly.
 */
import type { Box } from "@geomesh/geo";

/** Bits per axis of the leaf grid. */
export const CELL_ORDER = 26;

const SIDE = 2 ** CELL_ORDER;

/** Hilbert index of grid position (x, y) on a 2^order × 2^order grid (x, y < 2^order ≤ 2^26). */
export function hilbertIndex(x: number, y: number, order: number): number {
  let d = 0;
  for (let s = 2 ** (order - 1); s >= 1; s /= 2) {
    const rx = (x & s) !== 0 ? 1 : 0;
    const ry = (y & s) !== 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry === 0) {
      if (rx === 1) {
        // Reflect within the current quadrant; only bits below `s` matter from here on.
        x = s - 1 - x;
        y = s - 1 - y;
      }
      const t = x;
      x = y;
      y = t;
    }
  }
  return d;
}

/**
 * Fractions of the grid for a longitude/latitude. Every caller goes through these two functions,
 * so a point and a rectangle edge at the same coordinate land in the same column/row at every
 * level (scaling by a power of two is exact).
 */
export function lngFraction(lng: number): number {
  return (lng + 180) / 360;
}

export function latFraction(lat: number): number {
  return (lat + 90) / 180;
}

/** The column (or row) of a grid fraction on a `size`-wide grid, edges clamped in. */
export function gridIndex(fraction: number, size: number): number {
  const i = Math.floor(fraction * size);
  return i < 0 ? 0 : i >= size ? size - 1 : i;
}

/** Leaf cell key of a point. */
export function cellOf(lng: number, lat: number): number {
  return hilbertIndex(
    gridIndex(lngFraction(lng), SIDE),
    gridIndex(latFraction(lat), SIDE),
    CELL_ORDER,
  );
}

/** Key of the cell at `level` (0..26) that contains the point. */
export function cellAtLevel(lng: number, lat: number, level: number): number {
  const size = 2 ** level;
  return hilbertIndex(gridIndex(lngFraction(lng), size), gridIndex(latFraction(lat), size), level);
}

/** Latitude bounds (degrees) of the row at `level` containing `lat`. */
export function cellLatBounds(lat: number, level: number): [number, number] {
  const size = 2 ** level;
  const row = gridIndex(latFraction(lat), size);
  const h = 180 / size;
  return [row * h - 90, (row + 1) * h - 90];
}

/** An inclusive range of leaf keys. */
export type CellRange = [number, number];

/**
 * Leaf-key ranges covering a non-wrapping rectangle (`west ≤ east`): the finest level at which it
 * touches at most `maxCells` cells, each cell's range, sorted and merged. May cover more than the
 * rectangle (callers re-check coordinates), never less.
 */
export function cellRanges(box: Box, maxCells = 16): CellRange[] {
  const [[w, s], [e, n]] = box;
  const fw = lngFraction(w);
  const fe = lngFraction(e);
  const fs = latFraction(s);
  const fn = latFraction(n);
  const span = Math.max(fe - fw, fn - fs, 2 ** -CELL_ORDER);
  let level = Math.min(CELL_ORDER, Math.max(0, Math.floor(-Math.log2(span)) + 1));
  let x0 = 0;
  let x1 = 0;
  let y0 = 0;
  let y1 = 0;
  for (;;) {
    const size = 2 ** level;
    x0 = gridIndex(fw, size);
    x1 = gridIndex(fe, size);
    y0 = gridIndex(fs, size);
    y1 = gridIndex(fn, size);
    if ((x1 - x0 + 1) * (y1 - y0 + 1) <= maxCells || level === 0) break;
    level -= 1;
  }
  const width = 4 ** (CELL_ORDER - level);
  const ranges: CellRange[] = [];
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y <= y1; y++) {
      const h = hilbertIndex(x, y, level);
      ranges.push([h * width, (h + 1) * width - 1]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: CellRange[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last[1] + 1 >= r[0]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}
