/**
 * Unit-vector arithmetic on the sphere. Geodesic predicates are computed on 3-D vectors rather
 * than on lng/lat so that edges are great-circle arcs (as in MongoDB's S2-based 2dsphere) and the
 * antimeridian and poles need no special cases.
 */
import type { LngLat } from "./model.js";

export type Vec3 = readonly [number, number, number];

const DEG = Math.PI / 180;

/** The unit vector of a `[lng, lat]` position in degrees. */
export function toVec3(p: LngLat): Vec3 {
  const lng = p[0] * DEG;
  const lat = p[1] * DEG;
  const c = Math.cos(lat);
  return [c * Math.cos(lng), c * Math.sin(lng), Math.sin(lat)];
}

/** The `[lng, lat]` (degrees) of a non-zero vector. */
export function toLngLat(v: Vec3): LngLat {
  const lat = Math.atan2(v[2], Math.hypot(v[0], v[1])) / DEG;
  const lng = v[0] === 0 && v[1] === 0 ? 0 : Math.atan2(v[1], v[0]) / DEG;
  return [lng, lat];
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function norm(a: Vec3): number {
  return Math.hypot(a[0], a[1], a[2]);
}

export function scale(a: Vec3, k: number): Vec3 {
  return [a[0] * k, a[1] * k, a[2] * k];
}

export function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

export function normalize(a: Vec3): Vec3 {
  const n = norm(a);
  return n === 0 ? a : scale(a, 1 / n);
}

/** `a · (b × c)`: positive when c is to the left of the directed great circle a→b. */
export function triple(a: Vec3, b: Vec3, c: Vec3): number {
  return (
    a[0] * (b[1] * c[2] - b[2] * c[1]) +
    a[1] * (b[2] * c[0] - b[0] * c[2]) +
    a[2] * (b[0] * c[1] - b[1] * c[0])
  );
}

/** Angle between two unit vectors in radians; atan2 keeps it accurate for tiny and near-antipodal angles. */
export function angle(a: Vec3, b: Vec3): number {
  return Math.atan2(norm(cross(a, b)), dot(a, b));
}

/**
 * Angular distance (radians) from `p` to the minor great-circle arc a→b: to the foot of the
 * perpendicular when it falls inside the arc, else to the nearer endpoint.
 */
export function distanceToArc(p: Vec3, a: Vec3, b: Vec3): number {
  const n = cross(a, b);
  const nn = norm(n);
  if (nn < 1e-15) return Math.min(angle(p, a), angle(p, b));
  const nh = scale(n, 1 / nn);
  const s = dot(p, nh);
  const q = sub(p, scale(nh, s));
  if (triple(nh, a, q) >= 0 && triple(nh, q, b) >= 0 && dot(q, add(a, b)) > 0) {
    return Math.atan2(Math.abs(s), norm(q));
  }
  return Math.min(angle(p, a), angle(p, b));
}

/**
 * Whether the minor arcs a→b and c→d cross at a point interior to both (S2's SimpleCrossing).
 * Returns `undefined` when the configuration is degenerate (shared or collinear vertices, or a
 * vertex on the other arc), so callers can fall back to an exact test.
 */
export function arcsCross(a: Vec3, b: Vec3, c: Vec3, d: Vec3): boolean | undefined {
  const ab = cross(a, b);
  const acb = -dot(ab, c);
  const bda = dot(ab, d);
  if (Math.abs(acb) < 1e-15 || Math.abs(bda) < 1e-15) return undefined;
  if (acb * bda < 0) return false;
  const cd = cross(c, d);
  const cbd = -dot(cd, b);
  const dac = dot(cd, a);
  if (Math.abs(cbd) < 1e-15 || Math.abs(dac) < 1e-15) return undefined;
  return acb * cbd > 0 && acb * dac > 0;
}
