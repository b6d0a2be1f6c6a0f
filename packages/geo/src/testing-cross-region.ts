/**
 * Building blocks for cross-region oracle tests: points on shared region borders, offsets,
 * star-shaped polygons (with holes) and the comparison of a FeatureCollection with a brute-force
 * answer that names the first differing position.
 */
import type { LngLat, PlaceHit } from "./model.js";
import type { RegionMap } from "./region-map.js";
import { EARTH_RADIUS_M, distanceMeters } from "./spherical.js";

const DEG = 180 / Math.PI;

export const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The point `meters` from `p` towards `bearing` (radians; a local flat approximation), 6 decimals. */
export function offset(p: LngLat, meters: number, bearing: number): LngLat {
  const lat = Math.max(
    -89,
    Math.min(89, p[1] + ((meters * Math.cos(bearing)) / EARTH_RADIUS_M) * DEG),
  );
  const dLng = ((meters * Math.sin(bearing)) / (EARTH_RADIUS_M * Math.cos(lat / DEG))) * DEG;
  return [round6(Math.max(-180, Math.min(180, p[0] + dLng))), round6(lat)];
}

/**
 * Samples the region outlines: `border` holds points every ≤ 10 km along edges two regions share
 * (both endpoints within 1 km of another region), `outer` the vertices facing no other region
 * (coasts, Canada, Mexico).
 */
export function sampleOutlines(map: RegionMap): { border: LngLat[]; outer: LngLat[] } {
  const names = map.names();
  const border: LngLat[] = [];
  const outer: LngLat[] = [];
  for (const name of names) {
    const others = names.filter((n) => n !== name);
    for (const polygon of map.geometryOf(name).coordinates) {
      for (const ring of polygon) {
        const shared = ring.map((v) =>
          others.some((o) => map.distanceToRegion(v as LngLat, o) < 1000),
        );
        for (let i = 0; i + 1 < ring.length; i++) {
          const a = ring[i] as LngLat;
          const b = ring[i + 1] as LngLat;
          if (!shared[i] || !shared[i + 1]) {
            if (!shared[i]) outer.push([a[0], a[1]]);
            continue;
          }
          const steps = Math.max(1, Math.ceil(distanceMeters(a, b) / 10_000));
          for (let s = 0; s < steps; s++) {
            const t = s / steps;
            border.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
          }
        }
      }
    }
  }
  return { border, outer };
}

/** How many regions' polygons lie within `meters` of the point (≥ 2: the point is near a border). */
export function regionsWithin(map: RegionMap, p: LngLat, meters: number): number {
  return map.names().filter((r) => map.distanceToRegion(p, r) <= meters).length;
}

function starRing(
  rand: () => number,
  c: LngLat,
  radiusDeg: number,
  minFraction: number,
  vertices: number,
): LngLat[] {
  const cos = Math.max(0.3, Math.cos(c[1] / DEG));
  const step = (2 * Math.PI) / vertices;
  const ring: LngLat[] = [];
  for (let k = 0; k < vertices; k++) {
    const angle = (k + (rand() - 0.5) * 0.6) * step;
    const r = radiusDeg * (minFraction + rand() * (1 - minFraction));
    ring.push([round6(c[0] + (r * Math.cos(angle)) / cos), round6(c[1] + r * Math.sin(angle))]);
  }
  ring.push(ring[0]!);
  return ring;
}

/**
 * A simple star-shaped polygon around `c` (radius in degrees of latitude, lng stretched by
 * 1/cos lat), optionally with a hole around its centre that never touches the shell.
 */
export function starPolygon(
  rand: () => number,
  c: LngLat,
  radiusDeg: number,
  hole: boolean,
): LngLat[][] {
  const shell = starRing(rand, c, radiusDeg, 0.55, 6 + Math.floor(rand() * 14));
  return hole
    ? [shell, starRing(rand, c, radiusDeg * 0.3, 0.4, 5 + Math.floor(rand() * 6))]
    : [shell];
}

export interface Feature {
  id: string;
  geometry: { type: string; coordinates: LngLat };
  properties: { region: string; distance?: number };
}

export interface FeatureCollection {
  type: string;
  features: Feature[];
  next?: string;
}

/** Distances travel as JSON numbers (exact); anything beyond float noise is a real difference. */
export const DISTANCE_TOLERANCE_M = 1e-6;

/**
 * Where `got` first differs from the oracle's `want` — id, region (`regionOf(id)`), coordinates,
 * and for near the distance — as a message naming the position; undefined when they agree.
 */
export function firstDifference(
  got: readonly Feature[],
  want: readonly PlaceHit[],
  near: boolean,
  regionOf: (id: string) => string | undefined,
): string | undefined {
  const showGot = (f: Feature | undefined) =>
    f
      ? `${f.id} d=${f.properties.distance ?? "-"} region=${f.properties.region} at ${JSON.stringify(f.geometry.coordinates)}`
      : "nothing";
  const showWant = (h: PlaceHit | undefined) =>
    h
      ? `${h.place.id} d=${h.distance ?? "-"} region=${regionOf(h.place.id)} at ${JSON.stringify(h.place.location.coordinates)}`
      : "nothing";
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    const same =
      g !== undefined &&
      w !== undefined &&
      g.id === w.place.id &&
      g.properties.region === regionOf(w.place.id) &&
      g.geometry.coordinates[0] === w.place.location.coordinates[0] &&
      g.geometry.coordinates[1] === w.place.location.coordinates[1] &&
      (near
        ? Math.abs((g.properties.distance ?? NaN) - w.distance!) <= DISTANCE_TOLERANCE_M
        : g.properties.distance === undefined);
    if (!same)
      return `first difference at #${i} (got ${got.length} features, want ${want.length}): got ${showGot(g)}; want ${showWant(w)}`;
  }
  return undefined;
}
