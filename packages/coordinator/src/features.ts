import { GeomeshError } from "@geomesh/errors";
import type { GridCounts, Page, Place, PlaceHit } from "@geomesh/geo";

/** A hit with the region that answered it (what results show as `properties.region`). */
export interface RegionHit extends PlaceHit {
  region: string;
}

export interface RegionPage extends Page {
  hits: RegionHit[];
  /** Regions that did not answer: the page holds what the others have. */
  unavailable?: string[];
}

/** One result as GeoJSON: `properties` has name, category, tags, updatedAt, region, distance (near) and the place's own `properties`. */
export interface PlaceFeature {
  type: "Feature";
  id: string;
  geometry: { type: "Point"; coordinates: [number, number] };
  properties: {
    name: string;
    category: string;
    tags: string[];
    updatedAt: string;
    region: string;
    distance?: number;
    properties: Record<string, unknown>;
  };
}

export interface PlaceFeatureCollection {
  type: "FeatureCollection";
  features: PlaceFeature[];
  next?: string;
  /** Set when some region did not answer (listed in `unavailable`): the rest is exact. */
  partial?: true;
  unavailable?: string[];
}

/** Renders a place as a Feature. */
export function placeToFeature(place: Place, region: string, distance?: number): PlaceFeature {
  const properties: PlaceFeature["properties"] = {
    name: place.name,
    category: place.category,
    tags: place.tags,
    updatedAt: place.updatedAt,
    region,
    properties: place.properties,
  };
  if (distance !== undefined) properties.distance = distance;
  return {
    type: "Feature",
    id: place.id,
    geometry: { type: "Point", coordinates: place.location.coordinates },
    properties,
  };
}

/** Renders a page as a FeatureCollection (with `next` when there is more). */
export function pageToFeatureCollection(page: RegionPage): PlaceFeatureCollection {
  const fc: PlaceFeatureCollection = {
    type: "FeatureCollection",
    features: page.hits.map((h) => placeToFeature(h.place, h.region, h.distance)),
  };
  if (page.next !== undefined) fc.next = page.next;
  if (page.unavailable !== undefined && page.unavailable.length > 0) {
    fc.partial = true;
    fc.unavailable = page.unavailable;
  }
  return fc;
}

const malformed = (what: string) =>
  new GeomeshError("MALFORMED_REPLY", `a region answered with ${what}`);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a Feature a leaf returned (shape-checked: leaves are other processes). */
export function featureToHit(value: unknown, fallbackRegion: string): RegionHit {
  if (!isRecord(value) || value.type !== "Feature" || typeof value.id !== "string")
    throw malformed("a feature without an id");
  const geometry = value.geometry;
  const props = value.properties;
  if (
    !isRecord(geometry) ||
    geometry.type !== "Point" ||
    !Array.isArray(geometry.coordinates) ||
    geometry.coordinates.length !== 2
  )
    throw malformed("a feature without a point");
  const [lng, lat] = geometry.coordinates as unknown[];
  if (typeof lng !== "number" || typeof lat !== "number" || !isRecord(props))
    throw malformed("a feature with bad coordinates or properties");
  const { name, category, tags, updatedAt, region, distance, properties } = props;
  if (
    typeof name !== "string" ||
    typeof category !== "string" ||
    !Array.isArray(tags) ||
    typeof updatedAt !== "string"
  )
    throw malformed("a feature missing name, category, tags or updatedAt");
  if (distance !== undefined && typeof distance !== "number")
    throw malformed("a non-numeric distance");
  const place: Place = {
    id: value.id,
    name,
    category,
    location: { type: "Point", coordinates: [lng, lat] },
    tags: tags.filter((t): t is string => typeof t === "string"),
    properties: isRecord(properties) ? properties : {},
    updatedAt,
  };
  const hit: RegionHit = { place, region: typeof region === "string" ? region : fallbackRegion };
  if (typeof distance === "number") hit.distance = distance;
  return hit;
}

/** Reads a FeatureCollection a leaf returned into a page. */
export function featureCollectionToPage(value: unknown, region: string): RegionPage {
  if (!isRecord(value) || value.type !== "FeatureCollection" || !Array.isArray(value.features))
    throw malformed("something other than a FeatureCollection");
  const page: RegionPage = { hits: value.features.map((f) => featureToHit(f, region)) };
  if (typeof value.next === "string") page.next = value.next;
  return page;
}

/**
 * A hit in a leaf's compact reply (`reply: "hits"`): `[id, lng, lat, name, category, tags,
 * updatedAt, properties]`, then the distance for near. The region is the leaf's own.
 */
export type CompactHit =
  | [string, number, number, string, string, string[], string, Record<string, unknown>]
  | [string, number, number, string, string, string[], string, Record<string, unknown>, number];

/** A leaf's compact page: what a coordinator needs to merge and render, nothing rendered. */
export interface CompactPage {
  hits: CompactHit[];
  next?: string;
}

/** A store page in the compact form (no GeoJSON: the coordinator renders the merged page once). */
export function pageToHits(page: Page): CompactPage {
  const hits = page.hits.map(({ place: p, distance }): CompactHit => {
    const [lng, lat] = p.location.coordinates;
    return distance === undefined
      ? [p.id, lng, lat, p.name, p.category, p.tags, p.updatedAt, p.properties]
      : [p.id, lng, lat, p.name, p.category, p.tags, p.updatedAt, p.properties, distance];
  });
  return page.next === undefined ? { hits } : { hits, next: page.next };
}

/**
 * Reads a compact hit. Leaves are other processes, so the shape is checked (types of the fields
 * merging and rendering use), but what a store already validated on write — the tags' and
 * properties' contents — is passed through as it came, not parsed again.
 */
function compactToHit(value: unknown, region: string): RegionHit {
  if (!Array.isArray(value) || (value.length !== 8 && value.length !== 9))
    throw malformed("a hit that is not an 8- or 9-element array");
  const [id, lng, lat, name, category, tags, updatedAt, properties, distance] = value as unknown[];
  if (
    typeof id !== "string" ||
    typeof lng !== "number" ||
    typeof lat !== "number" ||
    typeof name !== "string" ||
    typeof category !== "string" ||
    !Array.isArray(tags) ||
    typeof updatedAt !== "string" ||
    !isRecord(properties) ||
    (distance !== undefined && typeof distance !== "number")
  )
    throw malformed("a hit with a field of the wrong type");
  const place: Place = {
    id,
    name,
    category,
    location: { type: "Point", coordinates: [lng, lat] },
    tags: tags as string[],
    properties,
    updatedAt,
  };
  return distance === undefined ? { place, region } : { place, region, distance };
}

/**
 * Reads a leaf's page reply: the compact form a coordinator asks for (`{hits, next?}`), or a
 * FeatureCollection (what a leaf answers a request without `reply: "hits"`).
 */
export function readLeafPage(value: unknown, region: string): RegionPage {
  if (isRecord(value) && Array.isArray(value.hits) && value.type === undefined) {
    const page: RegionPage = { hits: value.hits.map((h) => compactToHit(h, region)) };
    if (value.next !== undefined) {
      if (typeof value.next !== "string") throw malformed("a non-string cursor");
      page.next = value.next;
    }
    return page;
  }
  return featureCollectionToPage(value, region);
}

/** Reads `{count}`. */
export function readCount(value: unknown): number {
  if (!isRecord(value) || typeof value.count !== "number") throw malformed("no count");
  return value.count;
}

/** Reads grid counts. */
export function readGrid(value: unknown): GridCounts {
  if (
    !isRecord(value) ||
    !Array.isArray(value.counts) ||
    !Array.isArray(value.cells) ||
    !Array.isArray(value.box)
  )
    throw malformed("no grid");
  return value as unknown as GridCounts;
}
