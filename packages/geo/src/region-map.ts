/**
 * The region map: which region owns a point, and which regions a query must ask. Regions are
 * configuration (name + polygon); polygons come from us-atlas states merged per region, a GeoJSON
 * file, or inline geometry. Ownership rule (DESIGN §1): a point inside a region's polygon belongs
 * to it (boundaries inclusive; the first region in configuration order wins on a shared border);
 * a point outside every polygon but within 50 km of one belongs to the nearest region; further
 * out it belongs to none.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, resolve } from "node:path";
import { GeomeshError } from "@geomesh/errors";
import type { MultiPolygon, Polygon } from "geojson";
import { merge } from "topojson-client";
import type { GeometryObject, Topology } from "topojson-specification";
import { fieldError, type FieldPath, formatPath } from "./field-error.js";
import type { Box, IntersectsGeometry, LngLat, Selection, Shape } from "./model.js";
import {
  chordSq,
  chordSqOfAngle,
  type PreparedGeometry,
  prepareGeometry,
} from "./prepared-geometry.js";
import {
  boxesIntersect,
  EARTH_RADIUS_M,
  expandBox,
  geometryBounds,
  prepareRing,
} from "./spherical.js";
import { DEFAULT_REGIONS, isUsStateCode, US_STATES } from "./us-states.js";
import { angle, dot, toVec3, type Vec3 } from "./vector3.js";

/** A point outside every region polygon but within this many metres of one belongs to the nearest. */
export const REGION_MARGIN_M = 50_000;

/** Where a region's polygon comes from (structurally compatible with `@geomesh/config`'s region config). */
export type RegionPolygonSource =
  | { readonly states: readonly string[] }
  | { readonly file: string }
  | {
      readonly geometry: {
        readonly type: "Polygon" | "MultiPolygon";
        readonly coordinates: readonly unknown[];
      };
    };

/** A region as configured: a name and a polygon source. */
export interface RegionSpec {
  readonly name: string;
  readonly polygon: RegionPolygonSource;
}

/** A region's name and merged GeoJSON polygon, as served by `/v1/regions`. */
export interface RegionGeometry {
  readonly name: string;
  readonly geometry: MultiPolygon;
}

export interface RegionMapOptions {
  /** Directory that relative `{file}` sources resolve against (default: the working directory). */
  readonly baseDir?: string;
}

/** Work counters, for budget tests and metrics. */
export interface RegionMapStats {
  readonly lookups: number;
  readonly cellsIndexed: number;
  readonly edgeTests: number;
  readonly totalEdges: number;
}

const MARGIN_RAD = REGION_MARGIN_M / EARTH_RADIUS_M;
/** Extra slack (≈ 1 m) on every "could this region be involved" test: it may only add regions. */
const SLACK_RAD = 1 / EARTH_RADIUS_M;
const CELL_DEG = 0.25;
const COLS = 360 / CELL_DEG;
const ROWS = 180 / CELL_DEG;
/** Cells whose region distances `distanceBounds` keeps (cleared when full). */
const PLAN_CELLS_KEPT = 16_384;

let atlas: Topology | undefined;

function usAtlas(): Topology {
  // Loaded lazily: only maps built from `{states}` need the 100 kB topology.
  atlas ??= createRequire(import.meta.url)("us-atlas/states-10m.json") as Topology;
  return atlas;
}

function configError(path: FieldPath, what: string): GeomeshError {
  return fieldError("CONFIG_INVALID", path, what);
}

function statesGeometry(codes: readonly string[], path: FieldPath): MultiPolygon {
  if (codes.length === 0) throw configError(path, "must list at least one state");
  const topology = usAtlas();
  const collection = topology.objects["states"];
  if (collection === undefined || collection.type !== "GeometryCollection") {
    throw new GeomeshError("INTERNAL", "us-atlas states-10m.json has no states collection");
  }
  const wanted = new Set<string>();
  codes.forEach((code, i) => {
    if (!isUsStateCode(code))
      throw configError([...path, i], `unknown state or territory code ${JSON.stringify(code)}`);
    wanted.add(US_STATES[code].fips);
  });
  const geoms = collection.geometries.filter(
    (g): g is Extract<GeometryObject, { type: "Polygon" | "MultiPolygon" }> =>
      (g.type === "Polygon" || g.type === "MultiPolygon") &&
      typeof g.id === "string" &&
      wanted.has(g.id),
  );
  return tidy(merge(topology, geoms));
}

/**
 * Merging quantized arcs can leave a ring one quantum short of closed, or a degenerate sliver
 * (fewer than 3 distinct vertices): close the former, drop the latter (and polygons whose shell
 * is one), so the published GeoJSON is valid.
 */
function tidy(mp: MultiPolygon): MultiPolygon {
  const close = (ring: number[][]): number[][] => {
    const first = ring[0];
    const last = ring[ring.length - 1];
    return first !== undefined &&
      last !== undefined &&
      (first[0] !== last[0] || first[1] !== last[1])
      ? [...ring, first]
      : ring;
  };
  const coordinates = mp.coordinates
    .map((rings) => rings.map(close))
    .map((rings) =>
      rings.map((ring) => (prepareRing(ring).vertices.length >= 3 ? ring : undefined)),
    )
    .filter((rings) => rings[0] !== undefined)
    .map((rings) => rings.filter((ring): ring is number[][] => ring !== undefined));
  return { type: "MultiPolygon", coordinates };
}

function asMultiPolygon(value: unknown, path: FieldPath): MultiPolygon {
  if (typeof value !== "object" || value === null) throw configError(path, "must be GeoJSON");
  const v = value as {
    type?: unknown;
    coordinates?: unknown;
    geometry?: unknown;
    features?: unknown;
  };
  switch (v.type) {
    case "Polygon":
      return {
        type: "MultiPolygon",
        coordinates: [checkRings(v.coordinates, [...path, "coordinates"])],
      };
    case "MultiPolygon": {
      if (!Array.isArray(v.coordinates) || v.coordinates.length === 0) {
        throw configError([...path, "coordinates"], "must be a non-empty array of polygons");
      }
      return {
        type: "MultiPolygon",
        coordinates: v.coordinates.map((rings, i) =>
          checkRings(rings, [...path, "coordinates", i]),
        ),
      };
    }
    case "Feature":
      return asMultiPolygon(v.geometry, [...path, "geometry"]);
    case "FeatureCollection": {
      if (!Array.isArray(v.features) || v.features.length === 0)
        throw configError([...path, "features"], "must be a non-empty array");
      const features: unknown[] = v.features;
      return {
        type: "MultiPolygon",
        coordinates: features.flatMap(
          (f, i) => asMultiPolygon(f, [...path, "features", i]).coordinates,
        ),
      };
    }
    default:
      throw configError(
        [...path, "type"],
        "must be Polygon, MultiPolygon, Feature or FeatureCollection",
      );
  }
}

/** Light checks for configured polygons: positions in range, rings closed with ≥ 4 positions, each within a hemisphere. */
function checkRings(value: unknown, path: FieldPath): LngLat[][] {
  if (!Array.isArray(value) || value.length === 0)
    throw configError(path, "must be a non-empty array of rings");
  const rings: unknown[] = value;
  return rings.map((ring, r) => {
    const rp = [...path, r];
    if (!Array.isArray(ring) || ring.length < 4)
      throw configError(rp, "a ring needs at least 4 positions");
    const positions: unknown[] = ring;
    const out = positions.map((p, i): LngLat => {
      if (
        !Array.isArray(p) ||
        p.length < 2 ||
        typeof p[0] !== "number" ||
        typeof p[1] !== "number"
      ) {
        throw configError([...rp, i], "must be a [lng, lat] position");
      }
      const [lng, lat] = p as [number, number];
      if (!(lng >= -180 && lng <= 180 && lat >= -90 && lat <= 90))
        throw configError([...rp, i], "is out of range");
      return [lng, lat];
    });
    const first = out[0]!;
    const last = out[out.length - 1]!;
    if (first[0] !== last[0] || first[1] !== last[1]) throw configError(rp, "ring is not closed");
    const prepared = prepareRing(out);
    if (
      prepared.vertices.length < 3 ||
      prepared.vertices.some((v) => dot(v, prepared.centroid) <= 1e-12)
    ) {
      throw configError(rp, "ring must have 3 distinct vertices and fit within a hemisphere");
    }
    return out;
  });
}

function loadSource(spec: RegionSpec, index: number, options: RegionMapOptions): MultiPolygon {
  const path: FieldPath = ["regions", index, "polygon"];
  const source = spec.polygon;
  if ("states" in source) return statesGeometry(source.states, [...path, "states"]);
  if ("file" in source) {
    const file = isAbsolute(source.file)
      ? source.file
      : resolve(options.baseDir ?? process.cwd(), source.file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (cause) {
      throw new GeomeshError(
        "CONFIG_INVALID",
        `${formatPath([...path, "file"])}: cannot read ${source.file}`,
        {
          cause,
          data: { field: formatPath([...path, "file"]) },
        },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new GeomeshError(
        "CONFIG_INVALID",
        `${formatPath([...path, "file"])}: ${source.file} is not valid JSON`,
        {
          cause,
          data: { field: formatPath([...path, "file"]) },
        },
      );
    }
    return asMultiPolygon(json, [...path, "file"]);
  }
  return asMultiPolygon(source.geometry, [...path, "geometry"]);
}

interface Region {
  readonly name: string;
  readonly geometry: MultiPolygon;
  readonly prepared: PreparedGeometry;
  readonly bounds: Box[];
}

interface Component {
  readonly region: number;
  readonly index: number;
  readonly center: Vec3;
  readonly radius: number;
}

/** A grid cell: every point in it has the same owner, or these components need a closer look. */
type Cell = { readonly owner: number } | { readonly comps: readonly Component[] };

/**
 * Owns region polygons and answers ownership and routing questions. `regionOf` is indexed: a lazy
 * 0.25° grid records for each cell either its single owner (no border within 50 km + the cell's
 * size) or the few region components near it, and each component's rings are cap trees, so a
 * lookup examines a handful of edges however large the regions are.
 */
export class RegionMap {
  private readonly list: readonly Region[];
  private readonly comps: readonly Component[];
  private readonly cells = new Map<number, Cell>();
  /** Per 0.25° cell: the exact distance from its centre to each region, and the cell's radius. */
  private readonly planCells = new Map<number, Float64Array>();
  private lookups = 0;

  private constructor(regions: readonly Region[]) {
    this.list = regions;
    const comps: Component[] = [];
    regions.forEach((r, ri) => {
      r.prepared.polygons.forEach((poly, index) => {
        const cap = poly.cap;
        comps.push({ region: ri, index, center: cap.center, radius: cap.radius });
      });
    });
    this.comps = comps;
  }

  /** Builds a map from region specs (us-atlas states, a GeoJSON file, or inline geometry); CONFIG_INVALID on bad input. */
  static build(specs: readonly RegionSpec[], options: RegionMapOptions = {}): RegionMap {
    if (specs.length === 0) throw configError(["regions"], "at least one region is required");
    const seen = new Set<string>();
    const regions = specs.map((spec, i): Region => {
      if (seen.has(spec.name.toLowerCase()))
        throw configError(
          ["regions", i, "name"],
          `duplicate region name ${JSON.stringify(spec.name)}`,
        );
      seen.add(spec.name.toLowerCase());
      const geometry = loadSource(spec, i, options);
      return {
        name: spec.name,
        geometry,
        prepared: prepareGeometry(geometry),
        bounds: geometryBounds(geometry),
      };
    });
    return new RegionMap(regions);
  }

  /** Region names in configuration order. */
  names(): string[] {
    return this.list.map((r) => r.name);
  }

  /** Names and merged GeoJSON polygons, in configuration order (for `/v1/regions`). */
  regions(): RegionGeometry[] {
    return this.list.map((r) => ({ name: r.name, geometry: r.geometry }));
  }

  /** The region's GeoJSON polygon; REGION_NOT_FOUND for an unknown name. */
  geometryOf(name: string): MultiPolygon {
    return this.region(name).geometry;
  }

  private region(name: string): Region {
    const found =
      this.list.find((r) => r.name === name) ??
      this.list.find((r) => r.name.toLowerCase() === name.toLowerCase());
    if (found === undefined)
      throw new GeomeshError(
        "REGION_NOT_FOUND",
        `region ${JSON.stringify(name.slice(0, 64))} is not configured`,
      );
    return found;
  }

  /**
   * The region owning a point: the first region (configuration order) whose polygon contains it
   * (boundary inclusive); else the nearest region if within 50 km (ties: configuration order);
   * else undefined.
   */
  regionOf(point: LngLat): string | undefined {
    const [lng, lat] = point;
    if (!(lng >= -180 && lng <= 180 && lat >= -90 && lat <= 90)) return undefined;
    this.lookups++;
    const cell = this.cell(lng, lat);
    if ("owner" in cell) return cell.owner < 0 ? undefined : this.list[cell.owner]!.name;
    const owner = this.ownerAmong(toVec3(point), cell.comps);
    return owner < 0 ? undefined : this.list[owner]!.name;
  }

  private ownerAmong(p: Vec3, comps: readonly Component[]): number {
    for (const c of comps) {
      if (this.list[c.region]!.prepared.polygons[c.index]!.contains(p)) return c.region;
    }
    let best = MARGIN_RAD;
    let owner = -1;
    for (const c of comps) {
      const d = this.list[c.region]!.prepared.polygons[c.index]!.boundaryDistance(p, best + 1e-15);
      // Components come in configuration order, so a tie keeps the earlier region.
      if (owner < 0 ? d <= best : d < best) {
        best = d;
        owner = c.region;
      }
    }
    return owner;
  }

  private cell(lng: number, lat: number): Cell {
    const col = Math.min(COLS - 1, Math.floor((lng + 180) / CELL_DEG));
    const row = Math.min(ROWS - 1, Math.floor((lat + 90) / CELL_DEG));
    const key = row * COLS + col;
    let cell = this.cells.get(key);
    if (cell === undefined) {
      cell = this.buildCell(row, col);
      this.cells.set(key, cell);
    }
    return cell;
  }

  private buildCell(row: number, col: number): Cell {
    const w = col * CELL_DEG - 180;
    const s = row * CELL_DEG - 90;
    const center = toVec3([w + CELL_DEG / 2, s + CELL_DEG / 2]);
    let size = 0;
    for (const corner of [
      [w, s],
      [w + CELL_DEG, s],
      [w, s + CELL_DEG],
      [w + CELL_DEG, s + CELL_DEG],
    ] as LngLat[]) {
      size = Math.max(size, angle(center, toVec3(corner)));
    }
    const reach = size + MARGIN_RAD + 1e-9;
    const near = this.comps.filter(
      (c) => chordSq(center, c.center) <= chordSqOfAngle(c.radius + reach + 1e-9),
    );
    if (near.length === 0) return { owner: -1 };
    // Uniform when no border comes within the cell's size + 50 km of its centre.
    const uniform = near.every(
      (c) =>
        this.list[c.region]!.prepared.polygons[c.index]!.boundaryDistance(center, reach) >= reach,
    );
    if (!uniform) return { comps: near };
    const inside = near.find((c) =>
      this.list[c.region]!.prepared.polygons[c.index]!.contains(center),
    );
    return { owner: inside === undefined ? -1 : inside.region };
  }

  /**
   * The owner of a write's location; GEO_OUT_OF_REGION (naming `field`) when it is more than
   * 50 km from every region.
   */
  requireRegionOf(point: LngLat, field = "location.coordinates"): string {
    const region = this.regionOf(point);
    if (region === undefined) {
      throw fieldError(
        "GEO_OUT_OF_REGION",
        field,
        `[${point[0]},${point[1]}] is more than 50 km from every region`,
      );
    }
    return region;
  }

  /**
   * Distance in metres from a point to a region's polygon (0 inside or on it); REGION_NOT_FOUND
   * for an unknown name. With `cutoffM`, the search stops there: a region farther away answers
   * `cutoffM` (much cheaper than its exact distance).
   */
  distanceToRegion(point: LngLat, name: string, cutoffM = Infinity): number {
    const cutoff = Math.min(Math.PI, cutoffM / EARTH_RADIUS_M);
    return this.region(name).prepared.distance(toVec3(point), cutoff) * EARTH_RADIUS_M;
  }

  /**
   * Bounds on the distance in metres from `point` to each region's polygon, in configuration
   * order: `[low₀, high₀, low₁, high₁, …]`. They come from the exact distances of the point's
   * 0.25° cell's centre, ± the cell's radius (a point's distance to a set moves by at most the
   * point's own displacement), measured once per cell and cached — so planning a near query
   * seldom measures a polygon.
   */
  distanceBounds(point: LngLat): Float64Array {
    const [lng, lat] = point;
    const col = Math.max(0, Math.min(COLS - 1, Math.floor((lng + 180) / CELL_DEG)));
    const row = Math.max(0, Math.min(ROWS - 1, Math.floor((lat + 90) / CELL_DEG)));
    const key = row * COLS + col;
    let cached = this.planCells.get(key);
    if (cached === undefined) {
      const w = col * CELL_DEG - 180;
      const s = row * CELL_DEG - 90;
      const center = toVec3([w + CELL_DEG / 2, s + CELL_DEG / 2]);
      let size = 0;
      for (const corner of [
        [w, s],
        [w + CELL_DEG, s],
        [w, s + CELL_DEG],
        [w + CELL_DEG, s + CELL_DEG],
      ] as LngLat[])
        size = Math.max(size, angle(center, toVec3(corner)));
      // 1 % and 1 m of slack: the bounds may only widen.
      const radius = size * EARTH_RADIUS_M * 1.01 + 1;
      cached = new Float64Array(2 * this.list.length);
      this.list.forEach((r, i) => {
        const d = r.prepared.distance(center) * EARTH_RADIUS_M;
        cached![2 * i] = Math.max(0, d - radius);
        cached![2 * i + 1] = d + radius;
      });
      if (this.planCells.size >= PLAN_CELLS_KEPT) this.planCells.clear();
      this.planCells.set(key, cached);
    }
    return cached;
  }

  /** Regions whose polygon lies within `rad` radians of the point, in configuration order. */
  private regionsWithin(p: Vec3, rad: number): string[] {
    const limit = rad + SLACK_RAD;
    // The distance search returns its cutoff when nothing is nearer, so the cutoff sits just past the limit.
    return this.list
      .filter((r) => r.prepared.distance(p, limit * (1 + 1e-9) + 1e-15) <= limit)
      .map((r) => r.name);
  }

  /**
   * Every region that could own a place within `radiusM` of `center`: those whose polygon is
   * within radius + 50 km (the 50 km rule can hand a point outside every polygon to a region).
   */
  regionsForCircle(center: LngLat, radiusM: number): string[] {
    return this.regionsWithin(toVec3(center), radiusM / EARTH_RADIUS_M + MARGIN_RAD);
  }

  /**
   * Every region that could own a place inside a `within` shape or intersecting a geometry:
   * regions whose polygon comes within 50 km of it (configuration order). May include a region
   * that turns out to hold nothing there; never misses one that could.
   */
  regionsForShape(shape: Shape | IntersectsGeometry): string[] {
    if ("kind" in shape) {
      switch (shape.kind) {
        case "circle":
          return this.regionsForCircle(shape.center, shape.radius);
        case "box":
          return this.regionsForBox(shape.box);
        case "polygon":
          return this.regionsForGeometry(shape.geometry, MARGIN_RAD);
      }
    }
    return this.regionsForGeometry(shape, MARGIN_RAD);
  }

  /** Regions a count/aggregate selection must ask. */
  regionsForSelection(selection: Selection): string[] {
    switch (selection.kind) {
      case "near":
        return this.regionsForCircle(selection.point, selection.maxDistance);
      case "within":
        return this.regionsForShape(selection.shape);
      case "intersects":
        return this.regionsForShape(selection.geometry);
    }
  }

  private regionsForGeometry(geometry: IntersectsGeometry, rad: number): string[] {
    const prepared = prepareGeometry(geometry);
    const d = rad + SLACK_RAD;
    return this.list.filter((r) => r.prepared.near(prepared, d)).map((r) => r.name);
  }

  /**
   * Regions a lng/lat box touches (within 50 km). Small boxes are traced as a geodesic polygon
   * densified along their parallels, with the margin grown by the largest gap between a parallel
   * and its chords; very large or polar boxes fall back to bounding-box overlap (a superset).
   */
  regionsForBox(box: Box): string[] {
    const [[w, s], [e, n]] = box;
    const width = w <= e ? e - w : e + 360 - w;
    const height = n - s;
    if (width > 90 || height > 90 || Math.max(Math.abs(s), Math.abs(n)) > 89) {
      const grown = expandBox(box, REGION_MARGIN_M + 1);
      return this.list
        .filter((r) => r.bounds.some((b) => grown.some((g) => boxesIntersect(b, g))))
        .map((r) => r.name);
    }
    const steps = Math.max(1, Math.ceil(width / 0.5));
    const step = width / steps;
    const south: LngLat[] = [];
    const north: LngLat[] = [];
    for (let i = 0; i <= steps; i++) {
      let lng = w + i * step;
      if (lng > 180) lng -= 360;
      south.push([lng, s]);
      north.push([lng, n]);
    }
    const sagitta = maxSagitta((step * Math.PI) / 180, s, n);
    const margin = MARGIN_RAD + 1.5 * sagitta;
    if (width === 0 || height === 0) {
      const line = width === 0 ? [south[0]!, north[0]!] : south;
      const geometry: IntersectsGeometry =
        width === 0 && height === 0
          ? { type: "Point", coordinates: south[0]! }
          : { type: "LineString", coordinates: line };
      return this.regionsForGeometry(geometry, margin);
    }
    const ring = [...south, ...north.reverse(), south[0]!];
    const polygon: Polygon = { type: "Polygon", coordinates: [ring] };
    return this.regionsForGeometry(polygon, margin);
  }

  /** Counters: lookups, grid cells built, edges examined by lookups so far, and edges in all regions. */
  stats(): RegionMapStats {
    let edgeTests = 0;
    let totalEdges = 0;
    for (const r of this.list) {
      for (const t of r.prepared.trees) {
        edgeTests += t.edgeTests;
        totalEdges += t.edgeCount;
      }
    }
    return { lookups: this.lookups, cellsIndexed: this.cells.size, edgeTests, totalEdges };
  }
}

/** Largest latitude gap (radians) between a parallel in [s, n] and a geodesic chord spanning `dLng` radians of it. */
function maxSagitta(dLng: number, s: number, n: number): number {
  const k = 1 / Math.cos(dLng / 2);
  const gap = (latDeg: number): number => {
    const phi = Math.abs((latDeg * Math.PI) / 180);
    return Math.atan(k * Math.tan(phi)) - phi;
  };
  const lo = Math.min(Math.abs(s), Math.abs(n), s <= 0 && n >= 0 ? 0 : Infinity);
  const hi = Math.max(Math.abs(s), Math.abs(n));
  const peak = (Math.atan(1 / Math.sqrt(k)) * 180) / Math.PI;
  let best = Math.max(gap(lo), gap(hi));
  if (peak > lo && peak < hi) best = Math.max(best, gap(peak));
  return best;
}

let defaultMap: RegionMap | undefined;

/** The default five US regions of DESIGN §1 from us-atlas (built once, then shared). */
export function defaultRegionMap(): RegionMap {
  defaultMap ??= RegionMap.build(DEFAULT_REGION_SPECS);
  return defaultMap;
}

/** The default region specs (DESIGN §1). */
export const DEFAULT_REGION_SPECS: readonly RegionSpec[] = DEFAULT_REGIONS;

/** Builds a region map; see `RegionMap.build`. */
export function buildRegionMap(
  specs: readonly RegionSpec[],
  options: RegionMapOptions = {},
): RegionMap {
  return RegionMap.build(specs, options);
}
