/**
 * Geo selections as MongoDB queries on the `location` field (2dsphere index).
 *
 * - circle → `$geoWithin: {$centerSphere: [centre, radius / 6 378 100]}` (a spherical cap);
 * - polygon → `$geoWithin: {$geometry}` (geodesic edges; validation keeps every ring within a
 *   hemisphere, so MongoDB's "smaller of the two regions" rule never flips a polygon);
 * - intersects → `$geoIntersects: {$geometry}`;
 * - box → a lng/lat rectangle, which no 2dsphere operator expresses (`$box` is planar and for
 *   legacy 2d indexes only; a polygon with the same corners has geodesic edges and cuts the
 *   rectangle). So a box is its exact test on the coordinates — `location.coordinates.0/1` between
 *   the edges, one clause per side of the antimeridian — ANDed, for the index, with a
 *   `$centerSphere` cap proven to contain the rectangle. The cap only narrows the index scan; the
 *   coordinate clauses decide, exactly as `pointInBox` does.
 */
import {
  type Box,
  boxBounds,
  distanceMeters,
  EARTH_RADIUS_M,
  type IntersectsGeometry,
  type LngLat,
  pointInBox,
  type Shape,
} from "@geomesh/geo";
import type { Document } from "mongodb";

/** Samples per rectangle edge when bounding it with a cap. */
const EDGE_SAMPLES = 32;
/** Caps wider than this (radians) are not worth an index scan; the box falls back to its coordinate test. */
const MAX_CAP_RADIANS = 0.9 * Math.PI;

/** A spherical cap: centre and radius in radians. */
export interface Cap {
  readonly center: LngLat;
  readonly radius: number;
}

/** Points along the boundary of a non-wrapping rectangle, and the longest step between neighbours along it (radians). */
function boundarySamples(box: Box): { points: LngLat[]; gap: number } {
  const [[w, s], [e, n]] = box;
  const points: LngLat[] = [];
  const edges: [LngLat, LngLat][] = [
    [
      [w, s],
      [e, s],
    ],
    [
      [e, s],
      [e, n],
    ],
    [
      [e, n],
      [w, n],
    ],
    [
      [w, n],
      [w, s],
    ],
  ];
  let gap = 0;
  for (const [a, b] of edges) {
    let prev: LngLat | undefined;
    for (let i = 0; i <= EDGE_SAMPLES; i++) {
      const t = i / EDGE_SAMPLES;
      const p: LngLat = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
      // Path length of the step along the edge itself (a parallel is longer than the geodesic chord).
      if (prev !== undefined) gap = Math.max(gap, stepLength(prev, p));
      points.push(p);
      prev = p;
    }
  }
  return { points, gap };
}

const DEG = Math.PI / 180;

/** Length in radians of a step along a parallel (equal latitudes) or a meridian. */
function stepLength(a: LngLat, b: LngLat): number {
  if (a[1] === b[1]) return Math.abs(b[0] - a[0]) * DEG * Math.cos(a[1] * DEG);
  return Math.abs(b[1] - a[1]) * DEG;
}

function antipode([lng, lat]: LngLat): LngLat {
  return [lng > 0 ? lng - 180 : lng + 180, -lat];
}

/**
 * The smallest of a few candidate caps (around the rectangle's middle, or around the pole it
 * reaches towards) that contains a non-wrapping lng/lat rectangle, or `undefined` when none is
 * useful. Containment: every boundary point is within r − gap/2 of the centre (so every point of
 * an edge, being within gap/2 of a sample, is within r), and the rectangle does not contain the
 * centre's antipode — so the whole rectangle, the side of its boundary away from the antipode,
 * lies in the cap.
 */
export function boxCap(box: Box): Cap | undefined {
  const [[w, s], [e, n]] = box;
  const { points, gap } = boundarySamples(box);
  const candidates: LngLat[] = [
    [(w + e) / 2, (s + n) / 2],
    [(w + e) / 2, 90],
    [(w + e) / 2, -90],
  ];
  let best: Cap | undefined;
  for (const center of candidates) {
    if (pointInBox(antipode(center), box)) continue;
    let far = 0;
    for (const p of points) far = Math.max(far, distanceMeters(center, p) / EARTH_RADIUS_M);
    const radius = far + gap / 2 + 1e-9;
    if (radius <= MAX_CAP_RADIANS && (best === undefined || radius < best.radius))
      best = { center, radius };
  }
  return best;
}

/** The exact lng/lat rectangle test (`pointInBox` semantics), plus an index-friendly cap per side. */
export function boxQuery(box: Box): Document {
  const clauses = boxBounds(box).map((part): Document => {
    const [[w, s], [e, n]] = part;
    const exact: Document = {
      "location.coordinates.0": { $gte: w, $lte: e },
      "location.coordinates.1": { $gte: s, $lte: n },
    };
    const cap = boxCap(part);
    if (cap === undefined) return exact;
    return {
      $and: [{ location: { $geoWithin: { $centerSphere: [cap.center, cap.radius] } } }, exact],
    };
  });
  return clauses.length === 1 ? clauses[0]! : { $or: clauses };
}

/** The query for a `within` shape. */
export function withinQuery(shape: Shape): Document {
  switch (shape.kind) {
    case "box":
      return boxQuery(shape.box);
    case "circle":
      return {
        location: { $geoWithin: { $centerSphere: [shape.center, shape.radius / EARTH_RADIUS_M] } },
      };
    case "polygon":
      return { location: { $geoWithin: { $geometry: shape.geometry } } };
  }
}

/** The query for an `intersects` geometry. */
export function intersectsQuery(geometry: IntersectsGeometry): Document {
  return { location: { $geoIntersects: { $geometry: geometry } } };
}

/**
 * The aggregation expression of a point's grid cell, written operation for operation like
 * `aggregateCellOf` (both use IEEE doubles, so every store bins a point identically):
 *   x   = lng ≥ w ? lng − w : (lng + 360) − w
 *   col = width > 0 ? min(cols − 1, ⌊(x / width) · cols⌋) : 0
 *   row = height > 0 ? min(rows − 1, ⌊((lat − s) / height) · rows⌋) : 0
 *   cell = row · cols + col
 * Only valid for points already known to be inside the box.
 */
export function aggregateCellExpression(box: Box, cells: readonly [number, number]): Document {
  const [[w, s], [e, n]] = box;
  const [cols, rows] = cells;
  const width = w <= e ? e - w : e + 360 - w;
  const height = n - s;
  const lng = { $arrayElemAt: ["$location.coordinates", 0] };
  const lat = { $arrayElemAt: ["$location.coordinates", 1] };
  const x = {
    $cond: [{ $gte: [lng, w] }, { $subtract: [lng, w] }, { $subtract: [{ $add: [lng, 360] }, w] }],
  };
  const col =
    width > 0
      ? { $min: [cols - 1, { $floor: { $multiply: [{ $divide: [x, width] }, cols] } }] }
      : 0;
  const row =
    height > 0
      ? {
          $min: [
            rows - 1,
            { $floor: { $multiply: [{ $divide: [{ $subtract: [lat, s] }, height] }, rows] } },
          ],
        }
      : 0;
  return { $add: [{ $multiply: [row, cols] }, col] };
}
