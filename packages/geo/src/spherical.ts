/**
 * Spherical geometry with MongoDB's 2dsphere semantics: a sphere of radius 6 378 100 m,
 * polygon edges that are great-circle arcs, and boundaries that count as inside.
 */
import type { Box, IntersectsGeometry, LngLat, PolygonGeometry, Shape } from "./model.js";
import {
  add,
  angle,
  cross,
  distanceToArc,
  dot,
  norm,
  normalize,
  toVec3,
  triple,
  type Vec3,
} from "./vector3.js";

/** MongoDB's earth radius in metres (used for every distance, as `$nearSphere` does). */
export const EARTH_RADIUS_M = 6378100;

/**
 * Points within this angle (radians, ≈ 6 mm) of a boundary count as on it. MongoDB tests a point
 * against a polygon with its S2 leaf cell (≈ 1 cm), so exact-boundary points are inside there too.
 */
export const BOUNDARY_TOLERANCE_RAD = 1e-9;

/** Padding (degrees) added to pre-filter bounds so float rounding never drops a true hit. */
export const BOUNDS_PAD_DEG = 1e-7;

const DEG = Math.PI / 180;
const TWO_PI = 2 * Math.PI;

/** Metres → radians on MongoDB's sphere. */
export function metersToRadians(m: number): number {
  return m / EARTH_RADIUS_M;
}

/** Radians → metres on MongoDB's sphere. */
export function radiansToMeters(rad: number): number {
  return rad * EARTH_RADIUS_M;
}

function haversine(lat1: number, lat2: number, dLng: number): number {
  const sLat = Math.sin((lat2 - lat1) / 2);
  const sLng = Math.sin(dLng / 2);
  return Math.min(1, Math.max(0, sLat * sLat + Math.cos(lat1) * Math.cos(lat2) * sLng * sLng));
}

/**
 * Great-circle angle (radians) between two positions. Haversine is exact for small separations
 * but loses digits near the antipode, so past a quarter turn the angle is taken as π minus the
 * (small, accurate) haversine distance to the antipode of `b`.
 */
export function distanceRadians(a: LngLat, b: LngLat): number {
  const lat1 = a[1] * DEG;
  const lat2 = b[1] * DEG;
  const dLng = (b[0] - a[0]) * DEG;
  const h = haversine(lat1, lat2, dLng);
  if (h <= 0.5) return 2 * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h));
  const g = haversine(lat1, -lat2, dLng + Math.PI);
  return Math.PI - 2 * Math.atan2(Math.sqrt(g), Math.sqrt(1 - g));
}

/** Great-circle distance in metres (radius 6 378 100 m, as MongoDB). */
export function distanceMeters(a: LngLat, b: LngLat): number {
  return distanceRadians(a, b) * EARTH_RADIUS_M;
}

/**
 * `distanceMeters` from one fixed position to many, bit for bit the same, with the origin's
 * trigonometry done once and no array per point — for loops over thousands of candidates.
 */
export class DistanceFrom {
  private readonly lat1: number;
  private readonly cosLat1: number;

  constructor(private readonly origin: LngLat) {
    this.lat1 = origin[1] * DEG;
    this.cosLat1 = Math.cos(this.lat1);
  }

  /** Metres from the origin to (lng, lat). */
  meters(lng: number, lat: number): number {
    const lat2 = lat * DEG;
    const sLat = Math.sin((lat2 - this.lat1) / 2);
    const sLng = Math.sin(((lng - this.origin[0]) * DEG) / 2);
    const h = Math.min(1, Math.max(0, sLat * sLat + this.cosLat1 * Math.cos(lat2) * sLng * sLng));
    // Past a quarter turn distanceRadians takes another route: let it.
    if (h > 0.5) return distanceMeters(this.origin, [lng, lat]);
    return 2 * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h)) * EARTH_RADIUS_M;
  }
}

/**
 * Whether a point lies in a lng/lat rectangle `[[w, s], [e, n]]`, all four edges inclusive.
 * The box is a flat lng/lat rectangle (like MongoDB's `$box`), not a geodesic polygon.
 * Antimeridian: when `w > e` the box wraps, covering `lng ≥ w` or `lng ≤ e`; longitudes are
 * compared as given (a point stored at -180 is not in a box whose east edge is 180 unless w = -180).
 */
export function pointInBox(p: LngLat, box: Box): boolean {
  const [[w, s], [e, n]] = box;
  const [lng, lat] = p;
  if (lat < s || lat > n) return false;
  return w <= e ? lng >= w && lng <= e : lng >= w || lng <= e;
}

/** Whether a point lies within `radiusM` metres (inclusive) of `center`, as `$centerSphere`. */
export function pointInCircle(p: LngLat, center: LngLat, radiusM: number): boolean {
  return distanceMeters(center, p) <= radiusM;
}

/** A ring prepared for containment: vectors plus the direction its hemisphere is centred on. */
export interface PreparedRing {
  readonly vertices: readonly Vec3[];
  readonly centroid: Vec3;
}

/**
 * Converts a closed GeoJSON ring to vectors, dropping consecutive duplicates (as MongoDB does) and
 * the closing vertex.
 */
export function prepareRing(ring: readonly (readonly number[])[]): PreparedRing {
  const vertices: Vec3[] = [];
  let last: readonly number[] | undefined;
  for (const pos of ring) {
    if (last !== undefined && pos[0] === last[0] && pos[1] === last[1]) continue;
    vertices.push(toVec3([pos[0] ?? 0, pos[1] ?? 0]));
    last = pos;
  }
  const first = vertices[0];
  const end = vertices[vertices.length - 1];
  if (vertices.length > 1 && first !== undefined && end !== undefined && sameVec(first, end))
    vertices.pop();
  let c: Vec3 = [0, 0, 0];
  for (const v of vertices) c = add(c, v);
  return { vertices, centroid: normalize(c) };
}

function sameVec(a: Vec3, b: Vec3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/** Chord length below which two unit vectors are within the boundary tolerance (chord ≈ angle here). */
const TOL = BOUNDARY_TOLERANCE_RAD;

/** Signed angle (radians) swept at `p` from the direction of `a` to the direction of `b`. */
export function sweptAngle(p: Vec3, a: Vec3, b: Vec3): number {
  return Math.atan2(triple(p, a, b), dot(a, b) - dot(p, a) * dot(p, b));
}

/**
 * Relation of `p` to a ring whose interior is the side inside the hemisphere around its
 * centroid (rings must fit in a hemisphere, which validation enforces): winding number of the
 * ring seen from `p`, with an exact distance check on the few edges `p` could lie on.
 */
export function ringRelation(p: Vec3, ring: PreparedRing): "in" | "out" | "boundary" {
  const vs = ring.vertices;
  const n = vs.length;
  if (n === 0) return "out";
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = vs[i]!;
    const b = vs[(i + 1) % n]!;
    const theta = sweptAngle(p, a, b);
    if (Math.abs(theta) > Math.PI / 2 || chord(p, a) <= 2 * TOL || chord(p, b) <= 2 * TOL) {
      if (distanceToArc(p, a, b) <= TOL) return "boundary";
    }
    sum += theta;
  }
  const winding = Math.round(sum / TWO_PI);
  return winding !== 0 && dot(p, ring.centroid) > 0 ? "in" : "out";
}

function chord(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Shell-then-holes containment, boundary inclusive (a point on a hole's edge is on the polygon's boundary). */
export function ringsContain(p: Vec3, rings: readonly PreparedRing[]): boolean {
  const shell = rings[0];
  if (shell === undefined) return false;
  const r = ringRelation(p, shell);
  if (r === "out") return false;
  if (r === "boundary") return true;
  for (let i = 1; i < rings.length; i++) {
    const h = ringRelation(p, rings[i]!);
    if (h === "in") return false;
    if (h === "boundary") return true;
  }
  return true;
}

/** Polygons of a Polygon/MultiPolygon as lists of rings. */
export function polygonsOf(geometry: PolygonGeometry): LngLat[][][] {
  return geometry.type === "Polygon"
    ? [geometry.coordinates as LngLat[][]]
    : (geometry.coordinates as LngLat[][][]);
}

/**
 * Whether a point is inside a Polygon/MultiPolygon with geodesic (great-circle) edges, as
 * MongoDB's 2dsphere `$geoWithin`; points on the boundary (within ≈ 6 mm) count as inside.
 * O(vertices); use `prepareGeometry` for repeated tests against a large polygon.
 */
export function pointInPolygon(point: LngLat, polygon: PolygonGeometry): boolean {
  const p = toVec3(point);
  for (const rings of polygonsOf(polygon)) {
    if (ringsContain(p, rings.map(prepareRing))) return true;
  }
  return false;
}

/** Angular distance (radians) from a point to the boundary of a set of rings. */
function distanceToRings(p: Vec3, rings: readonly LngLat[][]): number {
  let best = Infinity;
  for (const ring of rings) {
    for (let i = 0; i + 1 < ring.length; i++) {
      best = Math.min(best, distanceToArc(p, toVec3(ring[i]!), toVec3(ring[i + 1]!)));
    }
  }
  return best;
}

/** Distance in metres from a point to the geodesic segment a→b (the minor great-circle arc). */
export function distanceToSegment(point: LngLat, a: LngLat, b: LngLat): number {
  return distanceToArc(toVec3(point), toVec3(a), toVec3(b)) * EARTH_RADIUS_M;
}

/** Distance in metres from a point to a Polygon/MultiPolygon: 0 inside or on it, else to the nearest edge. */
export function distanceToPolygon(point: LngLat, polygon: PolygonGeometry): number {
  if (pointInPolygon(point, polygon)) return 0;
  const p = toVec3(point);
  let best = Infinity;
  for (const rings of polygonsOf(polygon)) best = Math.min(best, distanceToRings(p, rings));
  return best * EARTH_RADIUS_M;
}

/** Distance in metres from a point to any supported geometry (0 when it intersects it). */
export function distanceToGeometry(point: LngLat, geometry: IntersectsGeometry): number {
  const p = toVec3(point);
  switch (geometry.type) {
    case "Point":
      return angle(p, toVec3(geometry.coordinates as LngLat)) * EARTH_RADIUS_M;
    case "MultiPoint": {
      let best = Infinity;
      for (const q of geometry.coordinates) best = Math.min(best, angle(p, toVec3(q as LngLat)));
      return best * EARTH_RADIUS_M;
    }
    case "LineString":
      return distanceToRings(p, [geometry.coordinates as LngLat[]]) * EARTH_RADIUS_M;
    case "MultiLineString":
      return distanceToRings(p, geometry.coordinates as LngLat[][]) * EARTH_RADIUS_M;
    case "Polygon":
    case "MultiPolygon":
      return distanceToPolygon(point, geometry);
  }
}

/**
 * Whether a point intersects a geometry, as `$geoIntersects`: equal to a point, on a line, or
 * inside/on a polygon — boundaries count, within ≈ 6 mm (`BOUNDARY_TOLERANCE_RAD`).
 */
export function pointIntersects(point: LngLat, geometry: IntersectsGeometry): boolean {
  switch (geometry.type) {
    case "Polygon":
    case "MultiPolygon":
      return pointInPolygon(point, geometry);
    case "Point":
    case "MultiPoint":
    case "LineString":
    case "MultiLineString":
      return distanceToGeometry(point, geometry) / EARTH_RADIUS_M <= TOL;
  }
}

/** Whether a point lies in a `within` shape (polygon, box or circle), boundaries inclusive. */
export function pointInShape(point: LngLat, shape: Shape): boolean {
  switch (shape.kind) {
    case "polygon":
      return pointInPolygon(point, shape.geometry);
    case "box":
      return pointInBox(point, shape.box);
    case "circle":
      return pointInCircle(point, shape.center, shape.radius);
  }
}

/**
 * Grid cell of a point for an aggregate: `row * cols + col` (row 0 south, col 0 west), or
 * `undefined` outside the box. Cells are half-open except the last row/column, which also take
 * the north/east edge. Every store bins with this function so grids agree exactly.
 */
export function aggregateCellOf(
  point: LngLat,
  box: Box,
  cells: readonly [number, number],
): number | undefined {
  if (!pointInBox(point, box)) return undefined;
  const [[w, s], [e, n]] = box;
  const [cols, rows] = cells;
  const width = w <= e ? e - w : e + 360 - w;
  const x = point[0] >= w ? point[0] - w : point[0] + 360 - w;
  const height = n - s;
  const col = width > 0 ? Math.min(cols - 1, Math.floor((x / width) * cols)) : 0;
  const row = height > 0 ? Math.min(rows - 1, Math.floor(((point[1] - s) / height) * rows)) : 0;
  return row * cols + col;
}

// ---------------------------------------------------------------------------------------------
// Bounds: lng/lat rectangles that contain a shape, for stores to pre-filter with an index.

/** A longitude interval; `lo > hi` wraps across the antimeridian. */
type LngInterval = readonly [number, number];

/** Latitude range and longitude interval of the minor arc a→b, including the poleward bulge. */
export function arcBounds(a: LngLat, b: LngLat): { lat: [number, number]; lng: LngInterval } {
  const va = toVec3(a);
  const vb = toVec3(b);
  let latMin = Math.min(a[1], b[1]);
  let latMax = Math.max(a[1], b[1]);
  const n = cross(va, vb);
  const nn = norm(n);
  let throughPole = false;
  if (nn > 1e-15) {
    const nh: Vec3 = [n[0] / nn, n[1] / nn, n[2] / nn];
    // Highest point of the great circle: the pole direction projected onto the circle's plane.
    const h: Vec3 = [-nh[0] * nh[2], -nh[1] * nh[2], 1 - nh[2] * nh[2]];
    const hn = norm(h);
    if (hn > 1e-15) {
      const hh: Vec3 = [h[0] / hn, h[1] / hn, h[2] / hn];
      const top = Math.asin(Math.min(1, hh[2])) / DEG;
      if (triple(nh, va, hh) >= 0 && triple(nh, hh, vb) >= 0) {
        latMax = Math.max(latMax, top);
        if (top > 90 - 1e-9) throughPole = true;
      }
      const lo: Vec3 = [-hh[0], -hh[1], -hh[2]];
      if (triple(nh, va, lo) >= 0 && triple(nh, lo, vb) >= 0) {
        latMin = Math.min(latMin, -top);
        if (top > 90 - 1e-9) throughPole = true;
      }
    }
  }
  const span = lngDelta(a[0], b[0]);
  if (throughPole || Math.abs(span) >= 180 || Math.abs(a[1]) === 90 || Math.abs(b[1]) === 90) {
    // An arc through (or ending at) a pole touches every meridian it needs; stay conservative.
    return {
      lat: [latMin, latMax],
      lng: Math.abs(a[1]) === 90 || Math.abs(b[1]) === 90 ? poleLng(a, b) : [-180, 180],
    };
  }
  const lo = span >= 0 ? a[0] : b[0];
  const hi = span >= 0 ? b[0] : a[0];
  return { lat: [latMin, latMax], lng: [wrapLng(lo), wrapLng(hi)] };
}

function poleLng(a: LngLat, b: LngLat): LngInterval {
  // A meridian arc to a pole covers only the other endpoint's longitude. The pole itself has every
  // longitude: the bounds built from these intervals add a polar cap for it (`boxesFrom`).
  if (Math.abs(a[1]) === 90 && Math.abs(b[1]) === 90) return [-180, 180];
  const other = Math.abs(a[1]) === 90 ? b[0] : a[0];
  return [other, other];
}

/** Signed shortest longitude difference b − a in (−180, 180]. */
function lngDelta(a: number, b: number): number {
  let d = (b - a) % 360;
  if (d > 180) d -= 360;
  if (d <= -180) d += 360;
  return d;
}

function wrapLng(x: number): number {
  if (x > 180) return x - 360;
  if (x < -180) return x + 360;
  return x;
}

/**
 * Adds the padded longitude interval `[lo − pad, hi + pad]` (`lo > hi` wraps) to `pieces` as
 * non-wrapping ranges within [−180, 180]. Padding that runs past ±180 continues on the other side
 * of the antimeridian instead of being clamped: lng 180 and −180 are one meridian, so a shape
 * touching 180 must also cover places stored at −180 (and the reverse).
 */
function pushPadded(pieces: [number, number][], [lo, hi]: LngInterval, pad: number): void {
  let a = lo - pad;
  let b = (lo <= hi ? hi : hi + 360) + pad;
  if (b - a >= 360) {
    pieces.push([-180, 180]);
    return;
  }
  if (a < -180 || a > 180) {
    // Only padding moves the start out of [−180, 180]; shift it back in (the end then stays below 540).
    const turns = Math.floor((a + 180) / 360);
    a -= 360 * turns;
    b -= 360 * turns;
  }
  if (b <= 180) pieces.push([a, b]);
  else {
    pieces.push([a, 180]);
    pieces.push([-180, b - 360]);
  }
}

/**
 * Covers a set of longitude intervals, each padded by `pad` (wrapping across the antimeridian),
 * with at most two non-wrapping `[lo, hi]` ranges within [−180, 180]: the complement of the
 * largest gap between them (so a shape straddling or touching the antimeridian gets two).
 */
function coverLng(intervals: readonly LngInterval[], pad: number): [number, number][] {
  const pieces: [number, number][] = [];
  for (const interval of intervals) pushPadded(pieces, interval, pad);
  if (pieces.length === 0) return [];
  pieces.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of pieces) {
    const last = merged[merged.length - 1];
    if (last !== undefined && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  const first = merged[0]!;
  const last = merged[merged.length - 1]!;
  // The gap across the antimeridian, then every inner gap: the largest one is left out.
  let bestGap = first[0] + 180 + (180 - last[1]);
  let bestIndex = -1;
  for (let i = 0; i + 1 < merged.length; i++) {
    const gap = merged[i + 1]![0] - merged[i]![1];
    if (gap > bestGap) {
      bestGap = gap;
      bestIndex = i;
    }
  }
  if (bestGap <= 0) return [[-180, 180]];
  if (bestIndex < 0) return [[first[0], last[1]]];
  return [
    [merged[bestIndex + 1]![0], 180],
    [-180, merged[bestIndex]![1]],
  ];
}

/**
 * Boxes for non-wrapping longitude ranges over a latitude range, padded by `BOUNDS_PAD_DEG`.
 * Every longitude at ±90° is one point, so when the padded range reaches a pole a cap box
 * `[[−180, 90 − pad], [180, 90]]` (resp. south) is added: the pole, and places a rounding error
 * away from it, may be stored under any longitude — a point or vertex at the pole has no
 * meaningful longitude of its own. Boxes inside another box are dropped.
 */
function boxesFrom(lngs: readonly [number, number][], latMin: number, latMax: number): Box[] {
  if (lngs.length === 0) return [];
  const s = Math.max(-90, latMin - BOUNDS_PAD_DEG);
  const n = Math.min(90, latMax + BOUNDS_PAD_DEG);
  const boxes: Box[] = lngs.map(([w, e]) => [
    [w, s],
    [e, n],
  ]);
  if (n >= 90)
    boxes.push([
      [-180, 90 - BOUNDS_PAD_DEG],
      [180, 90],
    ]);
  if (s <= -90)
    boxes.push([
      [-180, -90],
      [180, -90 + BOUNDS_PAD_DEG],
    ]);
  // A box another one contains adds nothing (of two equal boxes, the first is kept).
  return boxes.filter(
    (box, i) =>
      !boxes.some(
        (other, j) => j !== i && contains(other, box) && (j < i || !contains(box, other)),
      ),
  );
}

/** Whether non-wrapping box `outer` contains non-wrapping box `inner`. */
function contains(outer: Box, inner: Box): boolean {
  return (
    inner[0][0] >= outer[0][0] &&
    inner[1][0] <= outer[1][0] &&
    inner[0][1] >= outer[0][1] &&
    inner[1][1] <= outer[1][1]
  );
}

/**
 * Lng/lat rectangles (each with west ≤ east) containing the circle of `radiusM` metres around
 * `center`: one, or two when it straddles or touches the antimeridian (its padding continues past
 * ±180), plus a polar cap when it comes within the padding of a pole. A circle reaching a pole
 * covers every longitude. Slightly padded, so usable as an index pre-filter.
 */
export function circleBounds(center: LngLat, radiusM: number): Box[] {
  const r = radiusM / EARTH_RADIUS_M;
  if (r >= Math.PI)
    return [
      [
        [-180, -90],
        [180, 90],
      ],
    ];
  const lat = center[1] * DEG;
  const latMin = (lat - r) / DEG;
  const latMax = (lat + r) / DEG;
  if (latMax >= 90 || latMin <= -90) return boxesFrom([[-180, 180]], latMin, latMax);
  const dLng = Math.asin(Math.min(1, Math.sin(r) / Math.cos(lat))) / DEG;
  return boxesFrom(
    coverLng([[wrapLng(center[0] - dLng), wrapLng(center[0] + dLng)]], BOUNDS_PAD_DEG),
    latMin,
    latMax,
  );
}

/** Lat range and lng intervals of every edge (or position) of a geometry. */
function edgeExtents(geometry: IntersectsGeometry): {
  latMin: number;
  latMax: number;
  lngs: LngInterval[];
} {
  let latMin = Infinity;
  let latMax = -Infinity;
  const lngs: LngInterval[] = [];
  const addPoint = (p: LngLat): void => {
    latMin = Math.min(latMin, p[1]);
    latMax = Math.max(latMax, p[1]);
    lngs.push([p[0], p[0]]);
  };
  const addLine = (line: readonly LngLat[]): void => {
    if (line.length === 1) addPoint(line[0]!);
    for (let i = 0; i + 1 < line.length; i++) {
      const e = arcBounds(line[i]!, line[i + 1]!);
      latMin = Math.min(latMin, e.lat[0]);
      latMax = Math.max(latMax, e.lat[1]);
      lngs.push(e.lng);
    }
  };
  switch (geometry.type) {
    case "Point":
      addPoint(geometry.coordinates as LngLat);
      break;
    case "MultiPoint":
      for (const p of geometry.coordinates) addPoint(p as LngLat);
      break;
    case "LineString":
      addLine(geometry.coordinates as LngLat[]);
      break;
    case "MultiLineString":
      for (const l of geometry.coordinates) addLine(l as LngLat[]);
      break;
    case "Polygon":
    case "MultiPolygon":
      for (const rings of polygonsOf(geometry)) for (const ring of rings) addLine(ring);
      break;
  }
  return { latMin, latMax, lngs };
}

/**
 * Lng/lat rectangles (each with west ≤ east) containing a geometry with geodesic edges: one, or
 * two across or touching the antimeridian (padding wraps past ±180), plus a polar cap over every
 * longitude when the geometry comes within the padding of a pole (a vertex at the pole matches
 * places stored there under any longitude). Includes the poleward bulge of long edges, and a
 * polygon that contains a pole covers every longitude up to it. Padded slightly; an index
 * pre-filter.
 */
export function geometryBounds(geometry: IntersectsGeometry): Box[] {
  let { latMin, latMax, lngs } = edgeExtents(geometry);
  if (lngs.length === 0) return [];
  if (geometry.type === "Polygon" || geometry.type === "MultiPolygon") {
    if (pointInPolygon([0, 90], geometry)) {
      latMax = 90;
      lngs = [[-180, 180]];
    }
    if (pointInPolygon([0, -90], geometry)) {
      latMin = -90;
      lngs = [[-180, 180]];
    }
  }
  return boxesFrom(coverLng(lngs, BOUNDS_PAD_DEG), latMin, latMax);
}

/** Non-wrapping rectangles covering a (possibly antimeridian-wrapping) box. */
export function boxBounds(box: Box): Box[] {
  const [[w, s], [e, n]] = box;
  if (w <= e) return [box];
  return [
    [
      [w, s],
      [180, n],
    ],
    [
      [-180, s],
      [e, n],
    ],
  ];
}

/** Pre-filter rectangles for a `within` shape. */
export function shapeBounds(shape: Shape): Box[] {
  switch (shape.kind) {
    case "polygon":
      return geometryBounds(shape.geometry);
    case "box":
      return boxBounds(shape.box);
    case "circle":
      return circleBounds(shape.center, shape.radius);
  }
}

/**
 * Grows a box by `meters` on every side (conservatively: longitude by the widest amount needed at
 * its most poleward latitude); a box that then reaches a pole covers every longitude. Returns
 * non-wrapping rectangles: growth past ±180 continues on the other side of the antimeridian.
 */
export function expandBox(box: Box, meters: number): Box[] {
  const [[w, s], [e, n]] = box;
  const d = meters / EARTH_RADIUS_M;
  const dLat = d / DEG;
  const s2 = s - dLat;
  const n2 = n + dLat;
  const maxAbs = Math.max(Math.abs(s), Math.abs(n)) * DEG;
  if (s2 <= -90 || n2 >= 90 || Math.sin(d) >= Math.cos(maxAbs))
    return boxesFrom([[-180, 180]], s2, n2);
  const dLng = Math.asin(Math.sin(d) / Math.cos(maxAbs)) / DEG;
  const width = w <= e ? e - w : e + 360 - w;
  if (width + 2 * dLng >= 360) return boxesFrom([[-180, 180]], s2, n2);
  return boxesFrom(coverLng([[wrapLng(w - dLng), wrapLng(e + dLng)]], BOUNDS_PAD_DEG), s2, n2);
}

/** Whether two lng/lat rectangles share a point (either may wrap the antimeridian). */
export function boxesIntersect(a: Box, b: Box): boolean {
  for (const x of boxBounds(a)) {
    for (const y of boxBounds(b)) {
      if (x[0][1] <= y[1][1] && y[0][1] <= x[1][1] && x[0][0] <= y[1][0] && y[0][0] <= x[1][0])
        return true;
    }
  }
  return false;
}
