/**
 * The normalized query model shared by stores, coordinators and datasets. Everything here is
 * plain data: parsers in `schemas.ts` produce it from untrusted bodies, stores consume it.
 */
import type {
  LineString,
  MultiLineString,
  MultiPoint,
  MultiPolygon,
  Point,
  Polygon,
} from "geojson";

/** A GeoJSON position `[longitude, latitude]` in degrees. */
export type LngLat = [number, number];

/**
 * A longitude/latitude rectangle `[[west, south], [east, north]]`, edges inclusive.
 * `west > east` means the box crosses the antimeridian (it covers lng ≥ west or lng ≤ east).
 */
export type Box = [LngLat, LngLat];

/** A stored place (point of interest, address, area centroid). */
export interface Place {
  id: string;
  name: string;
  category: string;
  location: { type: "Point"; coordinates: LngLat };
  tags: string[];
  properties: Record<string, unknown>;
  /** ISO-8601 in canonical `Date#toISOString()` form (UTC, milliseconds, `Z`), so string order is time order. */
  updatedAt: string;
}

/** A place as written by a client: `updatedAt` is set by the store/worker when absent. */
export type PlaceInput = Omit<Place, "updatedAt"> & { updatedAt?: string };

/**
 * The allow-listed filter: every present clause must hold.
 * - `category`: equal to the string, or to one of the strings;
 * - `tags`: every listed tag is present on the place;
 * - `namePrefix`: `name` starts with it (case-sensitive, code-unit comparison);
 * - `updatedAt`: `from` inclusive, `to` exclusive (canonical ISO strings).
 */
export interface Filter {
  category?: string | string[];
  tags?: string[];
  namePrefix?: string;
  updatedAt?: { from?: string; to?: string };
}

/** Polygonal GeoJSON accepted by `within` (edges are geodesics, as MongoDB's 2dsphere). */
export type PolygonGeometry = Polygon | MultiPolygon;

/** GeoJSON geometries accepted by `intersects`. */
export type IntersectsGeometry =
  Point | MultiPoint | LineString | MultiLineString | Polygon | MultiPolygon;

/** A `within` selection. Boxes are lng/lat rectangles (not geodesic); circles are spherical caps. */
export type Shape =
  | { kind: "polygon"; geometry: PolygonGeometry }
  | { kind: "box"; box: Box }
  | { kind: "circle"; center: LngLat; radius: number };

/** Position after the last near hit returned: the next page holds hits strictly after (distance, id). */
export interface NearCursor {
  distance: number;
  id: string;
}

/** Position after the last within/intersects hit: the next page holds ids strictly greater. */
export interface IdCursor {
  id: string;
}

/** Nearest-first search; `minDistance`/`maxDistance` in metres, both inclusive. */
export interface NearQuery {
  point: LngLat;
  limit: number;
  minDistance?: number;
  maxDistance?: number;
  filter?: Filter;
  cursor?: NearCursor;
}

/** Places inside a shape (boundary inclusive), ordered by id. */
export interface WithinQuery {
  shape: Shape;
  limit: number;
  filter?: Filter;
  cursor?: IdCursor;
}

/** Places whose location intersects a geometry (boundary inclusive), ordered by id. */
export interface IntersectsQuery {
  geometry: IntersectsGeometry;
  limit: number;
  filter?: Filter;
  cursor?: IdCursor;
}

/** The selection a count runs over: a near circle (maxDistance required), a within shape, or an intersects geometry. */
export type Selection =
  | { kind: "near"; point: LngLat; minDistance?: number; maxDistance: number }
  | { kind: "within"; shape: Shape }
  | { kind: "intersects"; geometry: IntersectsGeometry };

/** Number of places in a selection that pass the filter. */
export interface CountQuery {
  selection: Selection;
  filter?: Filter;
}

/** Grid counts of places in a box: `cells = [cols, rows]`, each 1..256. */
export interface AggregateQuery {
  box: Box;
  cells: [number, number];
  filter?: Filter;
}

/**
 * Result of an aggregate: `counts[row * cols + col]`, row 0 the southernmost, col 0 the westernmost.
 * Use `aggregateCellOf` (in `spherical.ts`) to place a point, so every store bins identically.
 */
export interface GridCounts {
  box: Box;
  cells: [number, number];
  counts: number[];
}

/** One result; `distance` (metres) is present for near queries. */
export interface PlaceHit {
  place: Place;
  distance?: number;
}

/** One page of results; `next` is an opaque cursor when more results may follow. */
export interface Page {
  hits: PlaceHit[];
  next?: string;
}

/** Documented limits (DESIGN §5). */
export const LIMITS = {
  defaultLimit: 10,
  maxLimit: 1000,
  maxDistanceM: 1_000_000,
  maxVertices: 10_000,
  maxBatch: 1000,
  /** Places per `place.upsert` batch: one store transaction each, so bulk loads commit in large steps. */
  maxUpsertBatch: 10_000,
  maxIdLength: 128,
  maxNameLength: 256,
  maxCategoryLength: 64,
  maxCategories: 64,
  maxTags: 64,
  maxTagLength: 64,
  maxDepth: 32,
  maxGridCells: 256,
  maxCursorLength: 512,
} as const;

/** A body parsed for one service: what `parseServiceBody` returns. */
/**
 * How a leaf answers a page query: `"features"` (the default) a GeoJSON FeatureCollection, as
 * every client expects; `"hits"` the compact form coordinators ask for (`{hits: [[id, lng, lat,
 * name, category, tags, updatedAt, properties, distance?], …], next?}`), which they merge and
 * render once themselves.
 */
export type ReplyForm = "features" | "hits";

export type ServiceRequest =
  | { service: "geo.near"; query: NearQuery; reply?: ReplyForm }
  | { service: "geo.within"; query: WithinQuery; reply?: ReplyForm }
  | { service: "geo.intersects"; query: IntersectsQuery; reply?: ReplyForm }
  | { service: "geo.count"; query: CountQuery }
  | { service: "geo.aggregate"; query: AggregateQuery }
  | {
      service: "place.upsert";
      places: PlaceInput[];
      batch: boolean;
      /** Places moving in from another region (set by coordinators): where each was before. */
      moved?: Record<string, MovedFrom>;
    }
  | { service: "place.get"; id: string }
  | { service: "place.get"; ids: string[] }
  | {
      service: "place.delete";
      id: string;
      /** Set by coordinators when the place is not deleted but moves to another region. */
      movedTo?: MovedTo;
    };

/** A place moving in from another region: that region and the place's location there. */
export interface MovedFrom {
  from: string;
  location: LngLat;
}

/** Where a place that leaves a region goes: the new region and the place as written there. */
export interface MovedTo {
  region: string;
  place: PlaceInput;
}

/** The services whose bodies this package parses. */
export const GEO_SERVICES = [
  "geo.near",
  "geo.within",
  "geo.intersects",
  "geo.count",
  "geo.aggregate",
  "place.upsert",
  "place.get",
  "place.delete",
] as const;

export type GeoService = (typeof GEO_SERVICES)[number];

/**
 * Order of ids everywhere (results, cursors, merges): plain code-unit comparison. Ids are
 * printable ASCII, so this equals byte order (MongoDB's simple collation, SQLite's BINARY).
 */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Order of near hits: distance ascending, then id. */
export function compareNear(
  a: { distance: number; id: string },
  b: { distance: number; id: string },
): number {
  return a.distance - b.distance || compareIds(a.id, b.id);
}
