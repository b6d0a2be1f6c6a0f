// Region status and shape helpers for the map page: how loaded a region is, its colour, and
// where its label goes.
import * as L from "../leaflet/leaflet-src.esm.js";

/**
 * How busy a region is: requests its broker holds over the capacity of its workers,
 * pending / (running + free). Below 1 there is room; above 1 requests wait in the queue.
 */
export function regionLoad(s) {
  const pending = s.pending ?? 0;
  const running = Math.max(0, pending - (s.queued ?? 0));
  const capacity = running + (s.freeCapacity ?? 0);
  if (capacity === 0) return pending > 0 ? Infinity : 0;
  return pending / capacity;
}

/** The fill of a region: green (idle) to red (queueing); grey when down or unknown. */
export function regionColour(s) {
  if (!s) return "#c9ced4"; // no status yet
  if (!s.reachable) return "#8d939b";
  const t = Math.min(regionLoad(s), 1.5) / 1.5;
  return `hsl(${Math.round(135 * (1 - t))}, 62%, 46%)`;
}

/** The load as a percentage, for labels and tooltips. */
export function loadText(s) {
  const load = regionLoad(s);
  return Number.isFinite(load) ? `${Math.round(load * 100)}%` : "saturated";
}

/** The outer rings of a Polygon/MultiPolygon, with their bounds and (lng/lat) box areas. */
export function pieces(geometry) {
  const rings =
    geometry.type === "Polygon" ? [geometry.coordinates[0]] : geometry.coordinates.map((p) => p[0]);
  return rings.map((ring) => {
    const b = L.latLngBounds(ring.map(([lng, lat]) => [lat, lng]));
    const area = (b.getEast() - b.getWest()) * (b.getNorth() - b.getSouth());
    return { ring, bounds: b, area, label: null };
  });
}

function insideRing(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function distanceToRing(ring, x, y, kx) {
  let best = Infinity;
  for (let i = 1; i < ring.length; i++) {
    const [ax, ay] = ring[i - 1];
    const [bx, by] = ring[i];
    const dx = (bx - ax) * kx;
    const dy = by - ay;
    const len = dx * dx + dy * dy;
    const t = len ? Math.max(0, Math.min(1, ((x - ax) * kx * dx + (y - ay) * dy) / len)) : 0;
    best = Math.min(best, Math.hypot((x - ax) * kx - t * dx, y - ay - t * dy));
  }
  return best;
}

/** A point well inside a ring, for its label: the grid point farthest from its edges. */
export function labelPoint(piece) {
  if (piece.label) return piece.label;
  const b = piece.bounds;
  const kx = Math.cos((b.getCenter().lat * Math.PI) / 180);
  const n = 16;
  let best = b.getCenter();
  let bestDistance = -1;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const x = b.getWest() + ((i + 0.5) * (b.getEast() - b.getWest())) / n;
      const y = b.getSouth() + ((j + 0.5) * (b.getNorth() - b.getSouth())) / n;
      if (!insideRing(piece.ring, x, y)) continue;
      const d = distanceToRing(piece.ring, x, y, kx);
      if (d > bestDistance) [best, bestDistance] = [L.latLng(y, x), d];
    }
  piece.label = best;
  return best;
}
