import {
  aggregateCellOf,
  type Box,
  distanceMeters,
  EARTH_RADIUS_M,
  type LngLat,
  pointInBox,
} from "@geomesh/geo";
import fc from "fast-check";
import type { Document } from "mongodb";
import { describe, expect, it } from "vitest";
import { aggregateCellExpression, boxCap, boxQuery } from "./mongo-shapes.js";

const lng = fc.double({ min: -180, max: 180, noNaN: true });
const lat = fc.double({ min: -90, max: 90, noNaN: true });
const unit = fc.double({ min: 0, max: 1, noNaN: true });
const plainBox = fc.tuple(lng, lng, lat, lat).map(([a, b, c, d]): Box => [
  [Math.min(a, b), Math.min(c, d)],
  [Math.max(a, b), Math.max(c, d)],
]);
const anyBox = fc.tuple(lng, lng, lat, lat).map(([a, b, c, d]): Box => [
  [a, Math.min(c, d)],
  [b, Math.max(c, d)],
]);

/** Evaluates the subset of MongoDB's query language `boxQuery` emits, against one point. */
function matches(q: Document, p: LngLat): boolean {
  return Object.entries(q).every(([key, cond]) => {
    if (key === "$and") return (cond as Document[]).every((c) => matches(c, p));
    if (key === "$or") return (cond as Document[]).some((c) => matches(c, p));
    if (key === "location") {
      const [center, radius] = (cond as { $geoWithin: { $centerSphere: [LngLat, number] } })
        .$geoWithin.$centerSphere;
      return distanceMeters(center, p) / EARTH_RADIUS_M <= radius;
    }
    const v = key === "location.coordinates.0" ? p[0] : p[1];
    const { $gte, $lte } = cond as { $gte: number; $lte: number };
    return v >= $gte && v <= $lte;
  });
}

/** Evaluates the arithmetic subset of the aggregation language `aggregateCellExpression` emits. */
function evaluate(e: unknown, p: LngLat): number {
  if (typeof e === "number") return e;
  const [op, args] = Object.entries(e as Document)[0] as [string, unknown[]];
  const a = (i: number): number => evaluate(args[i], p);
  switch (op) {
    case "$arrayElemAt":
      return p[args[1] as 0 | 1];
    case "$cond":
      return evaluateBool(args[0], p) ? a(1) : a(2);
    case "$subtract":
      return a(0) - a(1);
    case "$add":
      return a(0) + a(1);
    case "$multiply":
      return a(0) * a(1);
    case "$divide":
      return a(0) / a(1);
    case "$min":
      return Math.min(a(0), a(1));
    case "$floor":
      return Math.floor(evaluate(args, p));
    default:
      throw new Error(`unexpected operator ${op}`);
  }
}

function evaluateBool(e: unknown, p: LngLat): boolean {
  const [op, args] = Object.entries(e as Document)[0] as [string, unknown[]];
  if (op !== "$gte") throw new Error(`unexpected operator ${op}`);
  return evaluate(args[0], p) >= evaluate(args[1], p);
}

function inside(box: Box, u: number, v: number): LngLat {
  const [[w, s], [e, n]] = box;
  const width = w <= e ? e - w : e + 360 - w;
  let x = w + u * width;
  if (x > 180) x -= 360;
  return [x, s + v * (n - s)];
}

describe("box queries for MongoDB", () => {
  it("bounds every point of a lng/lat rectangle with its cap", () => {
    fc.assert(
      fc.property(plainBox, unit, unit, (box, u, v) => {
        const cap = boxCap(box);
        if (cap === undefined) return;
        const [[w, s], [e, n]] = box;
        for (const p of [
          inside(box, u, v),
          [w, s],
          [e, n],
          [w, n],
          [e, s],
          [(w + e) / 2, s],
          [(w + e) / 2, n],
        ] as LngLat[]) {
          expect(distanceMeters(cap.center, p) / EARTH_RADIUS_M).toBeLessThanOrEqual(cap.radius);
        }
      }),
      { seed: 3, numRuns: 3000 },
    );
  });

  it("uses a cap for ordinary boxes so the 2dsphere index narrows the scan", () => {
    const cap = boxCap([
      [-74.1, 40.6],
      [-73.8, 40.9],
    ]);
    expect(cap).toBeDefined();
    expect(cap!.radius).toBeLessThan(0.005);
    expect(
      boxCap([
        [-180, -90],
        [180, 90],
      ]),
    ).toBeUndefined();
  });

  it("selects exactly the points pointInBox selects, wrapping boxes included", () => {
    fc.assert(
      fc.property(anyBox, lng, lat, unit, unit, (box, x, y, u, v) => {
        const q = boxQuery(box);
        for (const p of [[x, y], inside(box, u, v), box[0], box[1]] as LngLat[])
          expect(matches(q, p)).toBe(pointInBox(p, box));
      }),
      { seed: 5, numRuns: 3000 },
    );
  });

  it("bins points with the same arithmetic as aggregateCellOf", () => {
    fc.assert(
      fc.property(
        anyBox,
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 256 }),
        unit,
        unit,
        (box, cols, rows, u, v) => {
          const expr = aggregateCellExpression(box, [cols, rows]);
          for (const p of [inside(box, u, v), box[0], box[1]] as LngLat[]) {
            if (!pointInBox(p, box)) continue; // the expression runs after the box $match
            expect(evaluate(expr, p)).toBe(aggregateCellOf(p, box, [cols, rows]));
          }
        },
      ),
      { seed: 9, numRuns: 3000 },
    );
  });
});
