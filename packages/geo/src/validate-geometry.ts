/**
 * MongoDB's 2dsphere validity rules for GeoJSON, checked before anything reaches a store:
 * coordinate ranges, closed rings of ≥ 4 positions (≥ 3 distinct vertices once consecutive
 * duplicates are dropped, as MongoDB drops them), no self-intersection, holes inside their shell
 * and not crossing or nesting, a vertex limit. Every failure is GEO_INVALID_GEOMETRY (or
 * LIMIT_EXCEEDED for size) naming the position or edge that is wrong.
 */
import { fieldError, type FieldPath, formatPath } from "./field-error.js";
import { type IntersectsGeometry, LIMITS, type LngLat } from "./model.js";
import { arcBounds, BOUNDARY_TOLERANCE_RAD, prepareRing, ringRelation } from "./spherical.js";
import { arcsCross, distanceToArc, dot, toVec3, type Vec3 } from "./vector3.js";

/** Positions in a geometry (closing positions of rings included): what the vertex limit counts. */
export function countPositions(geometry: IntersectsGeometry): number {
  switch (geometry.type) {
    case "Point":
      return 1;
    case "MultiPoint":
    case "LineString":
      return geometry.coordinates.length;
    case "MultiLineString":
    case "Polygon":
      return geometry.coordinates.reduce((n, part) => n + part.length, 0);
    case "MultiPolygon":
      return geometry.coordinates.reduce(
        (n, poly) => n + poly.reduce((m, ring) => m + ring.length, 0),
        0,
      );
  }
}

function fmt(p: readonly number[]): string {
  return `[${p[0]},${p[1]}]`;
}

/** Throws unless `p` is a `[lng, lat]` pair in range. */
export function validatePosition(p: readonly number[], path: FieldPath): void {
  if (p.length !== 2)
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      path,
      `a position must have exactly 2 numbers [lng, lat], got ${p.length}`,
    );
  const [lng, lat] = p as [number, number];
  if (!Number.isFinite(lng) || lng < -180 || lng > 180) {
    throw fieldError("GEO_INVALID_GEOMETRY", path, `longitude ${lng} is out of range [-180, 180]`);
  }
  if (!Number.isFinite(lat) || lat < -90 || lat > 90) {
    throw fieldError("GEO_INVALID_GEOMETRY", path, `latitude ${lat} is out of range [-90, 90]`);
  }
}

function antipodal(a: Vec3, b: Vec3): boolean {
  return dot(a, b) < -1 + 1e-15;
}

/** A line/ring with consecutive duplicates dropped, remembering original position indexes. */
interface Chain {
  readonly points: LngLat[];
  readonly vecs: Vec3[];
  readonly index: number[];
}

function dedupe(line: readonly LngLat[]): Chain {
  const points: LngLat[] = [];
  const vecs: Vec3[] = [];
  const index: number[] = [];
  line.forEach((p, i) => {
    const last = points[points.length - 1];
    if (last !== undefined && last[0] === p[0] && last[1] === p[1]) return;
    points.push(p);
    vecs.push(toVec3(p));
    index.push(i);
  });
  return { points, vecs, index };
}

function validateLine(line: readonly LngLat[], path: FieldPath): void {
  line.forEach((p, i) => validatePosition(p, [...path, i]));
  const chain = dedupe(line);
  if (chain.points.length < 2) {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      path,
      "a LineString needs at least 2 distinct positions",
    );
  }
  for (let i = 0; i + 1 < chain.vecs.length; i++) {
    if (antipodal(chain.vecs[i]!, chain.vecs[i + 1]!)) {
      throw fieldError(
        "GEO_INVALID_GEOMETRY",
        path,
        `positions ${chain.index[i]} and ${chain.index[i + 1]} are antipodal, so the edge between them is undefined`,
      );
    }
  }
}

/** One edge of a ring, for the crossing sweep. */
interface Edge {
  readonly ring: number;
  readonly i: number;
  readonly a: Vec3;
  readonly b: Vec3;
  readonly latMin: number;
  readonly latMax: number;
  readonly lng: readonly [number, number];
}

/** Checks one ring alone and returns its vertex chain (closing vertex dropped). */
function validateRing(ring: readonly LngLat[], path: FieldPath): Chain {
  ring.forEach((p, i) => validatePosition(p, [...path, i]));
  if (ring.length < 4) {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      path,
      `a ring needs at least 4 positions, got ${ring.length}`,
    );
  }
  const first = ring[0]!;
  const last = ring[ring.length - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1]) {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      path,
      `ring is not closed (first ${fmt(first)} ≠ last ${fmt(last)})`,
    );
  }
  const chain = dedupe(ring);
  chain.points.pop();
  chain.vecs.pop();
  chain.index.pop();
  const n = chain.points.length;
  if (n < 3) {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      path,
      `a ring needs at least 3 distinct vertices, got ${n}`,
    );
  }
  const seen = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const key = `${chain.points[k]![0]},${chain.points[k]![1]}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      throw fieldError(
        "GEO_INVALID_GEOMETRY",
        path,
        `ring touches itself: positions ${chain.index[prev]} and ${chain.index[k]} are the same vertex ${fmt(chain.points[k]!)}`,
      );
    }
    seen.set(key, k);
  }
  for (let k = 0; k < n; k++) {
    const a = chain.vecs[k]!;
    const b = chain.vecs[(k + 1) % n]!;
    if (antipodal(a, b)) {
      throw fieldError(
        "GEO_INVALID_GEOMETRY",
        path,
        `positions ${chain.index[k]} and ${chain.index[(k + 1) % n]} are antipodal, so the edge between them is undefined`,
      );
    }
  }
  const prepared = prepareRing(ring);
  for (let k = 0; k < n; k++) {
    if (dot(chain.vecs[k]!, prepared.centroid) <= 1e-12) {
      throw fieldError(
        "GEO_INVALID_GEOMETRY",
        path,
        "ring spans more than a hemisphere (polygons must be smaller than half the globe)",
      );
    }
  }
  // A vertex lying on one of its own adjacent edges folds the ring back on itself (a spike).
  for (let k = 0; k < n; k++) {
    const prev = chain.vecs[(k + n - 1) % n]!;
    const cur = chain.vecs[k]!;
    const next = chain.vecs[(k + 1) % n]!;
    if (
      distanceToArc(next, prev, cur) <= BOUNDARY_TOLERANCE_RAD ||
      distanceToArc(prev, cur, next) <= BOUNDARY_TOLERANCE_RAD
    ) {
      throw fieldError(
        "GEO_INVALID_GEOMETRY",
        path,
        `ring folds back on itself at position ${chain.index[k]}`,
      );
    }
  }
  return chain;
}

function edgesOf(chain: Chain, ring: number): Edge[] {
  const n = chain.points.length;
  const edges: Edge[] = [];
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    const bounds = arcBounds(chain.points[i]!, chain.points[j]!);
    edges.push({
      ring,
      i,
      a: chain.vecs[i]!,
      b: chain.vecs[j]!,
      latMin: bounds.lat[0] - 1e-9,
      latMax: bounds.lat[1] + 1e-9,
      lng: bounds.lng,
    });
  }
  return edges;
}

/** Candidate edge pairs the crossing sweep may examine before refusing the geometry. */
const MAX_SWEEP_PAIRS = 1_000_000;

function latRange(e: Edge): readonly [number, number] {
  return [e.latMin, e.latMax];
}

function lngRange(e: Edge): readonly [number, number] {
  return [e.lng[0] - 1e-9, e.lng[1] + 1e-9];
}

/** Sum of the edges' extents over the span they cover: how crowded a sweep along that axis is. */
function extentRatio(
  edges: readonly Edge[],
  range: (e: Edge) => readonly [number, number],
): number {
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (const e of edges) {
    const [a, b] = range(e);
    lo = Math.min(lo, a);
    hi = Math.max(hi, b);
    sum += b - a;
  }
  return sum / Math.max(hi - lo, 1e-12);
}

function inLng(x: number, [lo, hi]: readonly [number, number]): boolean {
  return lo <= hi ? x >= lo && x <= hi : x >= lo || x <= hi;
}

function lngOverlap(a: readonly [number, number], b: readonly [number, number]): boolean {
  const pad = 1e-9;
  const aa: [number, number] = [a[0] - pad, a[1] + pad];
  return inLng(b[0], aa) || inLng(b[1], aa) || inLng(a[0], b) || inLng(a[1], b);
}

function minArcDistance(e: Edge, f: Edge): number {
  return Math.min(
    distanceToArc(e.a, f.a, f.b),
    distanceToArc(e.b, f.a, f.b),
    distanceToArc(f.a, e.a, e.b),
    distanceToArc(f.b, e.a, e.b),
  );
}

function sharesVertex(e: Edge, f: Edge): boolean {
  const same = (x: Vec3, y: Vec3): boolean => x[0] === y[0] && x[1] === y[1] && x[2] === y[2];
  return same(e.a, f.a) || same(e.a, f.b) || same(e.b, f.a) || same(e.b, f.b);
}

/**
 * Finds crossing edges among the rings of one polygon with a latitude sweep. Within a ring any
 * contact between non-adjacent edges is invalid; between rings, touching at a vertex is allowed
 * (as S2 allows) but crossing or sharing an edge is not.
 */
function checkCrossings(chains: readonly Chain[], ringPath: (r: number) => FieldPath): void {
  const edges = chains.flatMap((c, r) => edgesOf(c, r));
  // Sweep along whichever axis the edges overlap least on (a comb of long north-south teeth is
  // swept west to east), and give up past a budget of candidate pairs so a hostile polygon cannot
  // buy quadratic work.
  const lngSweep =
    edges.every((e) => e.lng[0] <= e.lng[1]) &&
    extentRatio(edges, lngRange) < extentRatio(edges, latRange);
  const range = lngSweep ? lngRange : latRange;
  const keyed = edges
    .map((e) => ({ e, lo: range(e)[0], hi: range(e)[1] }))
    .sort((x, y) => x.lo - y.lo);
  let pairs = 0;
  for (let x = 0; x < keyed.length; x++) {
    const e = keyed[x]!.e;
    const eHi = keyed[x]!.hi;
    for (let y = x + 1; y < keyed.length; y++) {
      if (keyed[y]!.lo > eHi) break;
      const f = keyed[y]!.e;
      if (++pairs > MAX_SWEEP_PAIRS) {
        throw fieldError(
          "LIMIT_EXCEEDED",
          ringPath(0).slice(0, -1),
          `is too complex to check for self-intersection (more than ${MAX_SWEEP_PAIRS} overlapping edge pairs)`,
        );
      }
      if (lngSweep ? !(f.latMin <= e.latMax && e.latMin <= f.latMax) : !lngOverlap(e.lng, f.lng))
        continue;
      const [p, q] = e.ring < f.ring || (e.ring === f.ring && e.i < f.i) ? [e, f] : [f, e];
      const n = chains[p.ring]!.points.length;
      const sameRing = p.ring === q.ring;
      if (sameRing && (q.i === p.i + 1 || (p.i === 0 && q.i === n - 1))) continue;
      let crossing = arcsCross(p.a, p.b, q.a, q.b);
      if (crossing === undefined) {
        const touching = minArcDistance(p, q) <= BOUNDARY_TOLERANCE_RAD;
        if (!touching) crossing = false;
        else if (sameRing) crossing = true;
        else if (sharesVertex(p, q)) {
          // Sharing a vertex is fine; sharing (part of) an edge is not.
          const overlap =
            distanceToArc(p.a, q.a, q.b) <= BOUNDARY_TOLERANCE_RAD &&
            distanceToArc(p.b, q.a, q.b) <= BOUNDARY_TOLERANCE_RAD;
          const overlap2 =
            distanceToArc(q.a, p.a, p.b) <= BOUNDARY_TOLERANCE_RAD &&
            distanceToArc(q.b, p.a, p.b) <= BOUNDARY_TOLERANCE_RAD;
          crossing = overlap || overlap2;
        } else crossing = false;
      }
      if (!crossing) continue;
      const cp = chains[p.ring]!;
      const cq = chains[q.ring]!;
      const edgeName = (c: Chain, i: number): string =>
        `${c.index[i]}→${c.index[(i + 1) % c.points.length]}`;
      if (sameRing) {
        throw fieldError(
          "GEO_INVALID_GEOMETRY",
          ringPath(p.ring),
          `ring intersects itself: edges ${edgeName(cp, p.i)} and ${edgeName(cq, q.i)} cross or touch`,
        );
      }
      const what =
        p.ring === 0
          ? `the shell ${formatPath(ringPath(0))}`
          : `hole ${formatPath(ringPath(p.ring))}`;
      throw fieldError(
        "GEO_INVALID_GEOMETRY",
        ringPath(q.ring),
        `hole crosses ${what}: its edge ${edgeName(cq, q.i)} meets that ring's edge ${edgeName(cp, p.i)}`,
      );
    }
  }
}

function validatePolygonRings(rings: readonly LngLat[][], path: FieldPath): void {
  if (rings.length === 0)
    throw fieldError("GEO_INVALID_GEOMETRY", path, "a Polygon needs at least one ring");
  const ringPath = (r: number): FieldPath => [...path, r];
  const chains = rings.map((ring, r) => validateRing(ring, ringPath(r)));
  checkCrossings(chains, ringPath);
  if (rings.length === 1) return;
  const prepared = rings.map((r) => prepareRing(r));
  const shell = prepared[0]!;
  for (let h = 1; h < rings.length; h++) {
    const chain = chains[h]!;
    // With no crossings, one vertex not on the other ring decides containment.
    for (const v of chain.vecs) {
      const rel = ringRelation(v, shell);
      if (rel === "boundary") continue;
      if (rel === "out")
        throw fieldError(
          "GEO_INVALID_GEOMETRY",
          ringPath(h),
          `hole is not inside the shell ${formatPath(ringPath(0))}`,
        );
      break;
    }
    for (let o = 1; o < rings.length; o++) {
      if (o === h) continue;
      for (const v of chain.vecs) {
        const rel = ringRelation(v, prepared[o]!);
        if (rel === "boundary") continue;
        if (rel === "in")
          throw fieldError(
            "GEO_INVALID_GEOMETRY",
            ringPath(h),
            `hole lies inside another hole ${formatPath(ringPath(o))}`,
          );
        break;
      }
    }
  }
}

/**
 * Throws GEO_INVALID_GEOMETRY (or LIMIT_EXCEEDED past 10 000 positions) unless the geometry is
 * valid by MongoDB's 2dsphere rules; `path` prefixes every message (default `geometry`).
 */
export function validateGeometry(
  geometry: IntersectsGeometry,
  path: FieldPath = ["geometry"],
): void {
  const positions = countPositions(geometry);
  if (positions > LIMITS.maxVertices) {
    throw fieldError(
      "LIMIT_EXCEEDED",
      [...path, "coordinates"],
      `has ${positions} positions; at most ${LIMITS.maxVertices} are allowed`,
    );
  }
  const coords: FieldPath = [...path, "coordinates"];
  switch (geometry.type) {
    case "Point":
      validatePosition(geometry.coordinates, coords);
      return;
    case "MultiPoint":
      if (geometry.coordinates.length === 0)
        throw fieldError(
          "GEO_INVALID_GEOMETRY",
          coords,
          "a MultiPoint needs at least one position",
        );
      geometry.coordinates.forEach((p, i) => validatePosition(p, [...coords, i]));
      return;
    case "LineString":
      validateLine(geometry.coordinates as LngLat[], coords);
      return;
    case "MultiLineString":
      if (geometry.coordinates.length === 0)
        throw fieldError(
          "GEO_INVALID_GEOMETRY",
          coords,
          "a MultiLineString needs at least one line",
        );
      geometry.coordinates.forEach((l, i) => validateLine(l as LngLat[], [...coords, i]));
      return;
    case "Polygon":
      validatePolygonRings(geometry.coordinates as LngLat[][], coords);
      return;
    case "MultiPolygon":
      if (geometry.coordinates.length === 0)
        throw fieldError(
          "GEO_INVALID_GEOMETRY",
          coords,
          "a MultiPolygon needs at least one polygon",
        );
      geometry.coordinates.forEach((poly, i) =>
        validatePolygonRings(poly as LngLat[][], [...coords, i]),
      );
      return;
  }
}
