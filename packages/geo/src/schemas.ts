/**
 * Parsers for the wire bodies of DESIGN §5, from `unknown` to the normalized model. Strict:
 * unknown fields are rejected (not stripped), `$` keys and prototype keys are rejected anywhere,
 * numbers must be finite, documented limits are enforced, and geometry is validated by
 * MongoDB's rules before it can reach a store. Every error names the JSON path of the bad field.
 */
import type { ErrorCode, GeomeshError } from "@geomesh/errors";
import { z } from "zod";
import {
  decodeIdCursor,
  decodeNearCursor,
  encodeIdCursor,
  encodeNearCursor,
  ID_PATTERN,
} from "./cursor.js";
import { fieldError, type FieldPath } from "./field-error.js";
import {
  type AggregateQuery,
  type Box,
  type CountQuery,
  type Filter,
  GEO_SERVICES,
  type GeoService,
  type IntersectsGeometry,
  type IntersectsQuery,
  LIMITS,
  type LngLat,
  type MovedFrom,
  type MovedTo,
  type NearQuery,
  type ReplyForm,
  type PlaceInput,
  type PolygonGeometry,
  type Selection,
  type ServiceRequest,
  type Shape,
  type WithinQuery,
} from "./model.js";
import { assertSafeJson } from "./safe-json.js";
import { validateGeometry, validatePosition } from "./validate-geometry.js";

type Issue = z.core.$ZodIssue;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function article(expected: string): string {
  if (expected === "int") return "an integer";
  if (expected === "object") return "a JSON object";
  if (expected === "array") return "an array";
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describeIssue(
  issue: Issue,
  input: unknown,
): { path: (string | number)[]; what: string; unknownField: boolean } {
  const path = issue.path.map((k) => (typeof k === "symbol" ? String(k) : k));
  switch (issue.code) {
    case "unrecognized_keys":
      return { path: [...path, issue.keys[0] ?? "?"], what: "unknown field", unknownField: true };
    case "invalid_type":
      return {
        path,
        what:
          valueAt(input, issue.path) === undefined
            ? "is required"
            : `must be ${article(issue.expected)}`,
        unknownField: false,
      };
    case "too_small": {
      const min = Number(issue.minimum);
      const what =
        issue.origin === "string"
          ? min === 1
            ? "must not be empty"
            : `must have at least ${min} characters`
          : issue.origin === "array"
            ? `must have at least ${min} item${min === 1 ? "" : "s"}`
            : `must be ${issue.inclusive === false ? ">" : "≥"} ${min}`;
      return { path, what, unknownField: false };
    }
    case "too_big": {
      const max = Number(issue.maximum);
      const what =
        issue.origin === "string"
          ? `must have at most ${max} characters`
          : issue.origin === "array"
            ? `must have at most ${max} items`
            : `must be ≤ ${max}`;
      return { path, what, unknownField: false };
    }
    case "invalid_value":
      return {
        path,
        what: `must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`,
        unknownField: false,
      };
    case "custom":
    case "invalid_element":
    case "invalid_format":
    case "invalid_key":
    case "invalid_union":
    case "not_multiple_of":
      return { path, what: issue.message, unknownField: false };
  }
}

/** Runs a zod schema; the first issue becomes a GeomeshError naming its field. */
function run<T>(
  schema: z.ZodType<T>,
  value: unknown,
  root: FieldPath,
  code: ErrorCode = "VALIDATION_FAILED",
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw fieldError(code, root, "is invalid");
  const { path, what, unknownField } = describeIssue(issue, value);
  return throwError(
    fieldError(unknownField ? "VALIDATION_FAILED" : code, [...root, ...path], what),
  );
}

function throwError(error: GeomeshError): never {
  throw error;
}

// ---------------------------------------------------------------------------------------------
// Scalars

const ISO_PATTERN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Canonical form (`toISOString`) of an ISO-8601 date-time with zone, or undefined if it is not one. */
export function canonicalIso(value: string): string | undefined {
  if (!ISO_PATTERN.test(value)) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) return undefined;
  const iso = new Date(t).toISOString();
  // Reject roll-over dates such as 2023-02-30 and years that would leave the 4-digit form.
  if (!/^\d{4}-/.test(iso)) return undefined;
  if (value.length >= 10 && !value.includes("T") && iso.slice(0, 10) !== value.slice(0, 10))
    return undefined;
  if (value.includes("T") && /Z$/.test(value) && iso.slice(0, 10) !== value.slice(0, 10))
    return undefined;
  return iso;
}

const isoSchema = z
  .string()
  .max(64)
  .refine((s) => canonicalIso(s) !== undefined, {
    error: "must be an ISO-8601 date or date-time with a time zone (e.g. 2024-05-01T12:00:00Z)",
  })
  .transform((s) => canonicalIso(s) ?? s);

const idSchema = z.string().regex(ID_PATTERN, {
  error: `must be 1-${LIMITS.maxIdLength} printable ASCII characters without spaces`,
});
const tagSchema = z.string().min(1).max(LIMITS.maxTagLength);
const categorySchema = z.string().min(1).max(LIMITS.maxCategoryLength);

const filterSchema = z.strictObject({
  category: z
    .union([categorySchema, z.array(categorySchema).min(1).max(LIMITS.maxCategories)], {
      error: `must be a category (1-${LIMITS.maxCategoryLength} characters) or an array of 1-${LIMITS.maxCategories} categories`,
    })
    .optional(),
  tags: z.array(tagSchema).max(LIMITS.maxTags).optional(),
  namePrefix: z.string().max(LIMITS.maxNameLength).optional(),
  updatedAt: z.strictObject({ from: isoSchema.optional(), to: isoSchema.optional() }).optional(),
});

/** Parses a filter object (the allow-list: category, tags, namePrefix, updatedAt). */
export function parseFilter(value: unknown, path: FieldPath = ["filter"]): Filter {
  const f = run(filterSchema, value, path);
  const out: Filter = {};
  if (f.category !== undefined) out.category = f.category;
  if (f.tags !== undefined) out.tags = f.tags;
  if (f.namePrefix !== undefined) out.namePrefix = f.namePrefix;
  if (f.updatedAt !== undefined) {
    const range: { from?: string; to?: string } = {};
    if (f.updatedAt.from !== undefined) range.from = f.updatedAt.from;
    if (f.updatedAt.to !== undefined) range.to = f.updatedAt.to;
    out.updatedAt = range;
  }
  return out;
}

// Schemas are built once: building one costs far more than running it (≈ 40 µs vs 2 µs).
const limitSchema = z.int().min(1);
const distanceSchema = z.number().min(0);
const positionSchema = z.array(z.number(), { error: "must be a [lng, lat] array" });
const batchSchema = z.strictObject({
  places: z.array(z.unknown()).min(1),
  moved: z.unknown().optional(),
});
const idBodySchema = z.strictObject({ id: idSchema });
const boxSchema = z
  .array(z.unknown())
  .length(2, { error: "must be [[west, south], [east, north]]" });
const cellsSchema = z.tuple([z.int().min(1), z.int().min(1)], { error: "must be [cols, rows]" });

function parseLimit(value: unknown, path: FieldPath): number {
  if (value === undefined) return LIMITS.defaultLimit;
  const limit = run(limitSchema, value, path);
  if (limit > LIMITS.maxLimit)
    throw fieldError("LIMIT_EXCEEDED", path, `must be ≤ ${LIMITS.maxLimit}, got ${limit}`);
  return limit;
}

function parseDistance(value: unknown, path: FieldPath, max: number): number {
  const d = run(distanceSchema, value, path);
  if (d > max) throw fieldError("LIMIT_EXCEEDED", path, `must be ≤ ${max} metres, got ${d}`);
  return d;
}

/** Parses a `[lng, lat]` position (GEO_INVALID_GEOMETRY when out of range). */
export function parsePosition(value: unknown, path: FieldPath): LngLat {
  const p = run(positionSchema, value, path, "GEO_INVALID_GEOMETRY");
  validatePosition(p, path);
  return [p[0]!, p[1]!];
}

// ---------------------------------------------------------------------------------------------
// Geometry

const position = z.array(z.number());
const geometrySchemas = {
  Point: z.strictObject({ type: z.literal("Point"), coordinates: position }),
  MultiPoint: z.strictObject({ type: z.literal("MultiPoint"), coordinates: z.array(position) }),
  LineString: z.strictObject({ type: z.literal("LineString"), coordinates: z.array(position) }),
  MultiLineString: z.strictObject({
    type: z.literal("MultiLineString"),
    coordinates: z.array(z.array(position)),
  }),
  Polygon: z.strictObject({ type: z.literal("Polygon"), coordinates: z.array(z.array(position)) }),
  MultiPolygon: z.strictObject({
    type: z.literal("MultiPolygon"),
    coordinates: z.array(z.array(z.array(position))),
  }),
} as const;

type GeometryType = keyof typeof geometrySchemas;

/** Geometry types `intersects` accepts (GeometryCollection is not supported). */
export const INTERSECTS_TYPES: readonly GeometryType[] = [
  "Point",
  "MultiPoint",
  "LineString",
  "MultiLineString",
  "Polygon",
  "MultiPolygon",
];
/** Geometry types `within` accepts. */
export const WITHIN_TYPES: readonly GeometryType[] = ["Polygon", "MultiPolygon"];

/**
 * Parses and validates a GeoJSON geometry of one of `types` (structure, ranges, rings, holes,
 * self-intersection, vertex limit). Throws GEO_INVALID_GEOMETRY / LIMIT_EXCEEDED / VALIDATION_FAILED.
 */
export function parseGeometry(
  value: unknown,
  path: FieldPath,
  types: readonly GeometryType[] = INTERSECTS_TYPES,
): IntersectsGeometry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fieldError(
      value === undefined ? "VALIDATION_FAILED" : "GEO_INVALID_GEOMETRY",
      path,
      value === undefined ? "is required" : "must be a GeoJSON geometry object",
    );
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || !(types as readonly string[]).includes(type)) {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      [...path, "type"],
      `must be one of ${types.join(", ")}`,
    );
  }
  const schema: z.ZodType<unknown> = geometrySchemas[type as GeometryType];
  const geometry = run(schema, value, path, "GEO_INVALID_GEOMETRY") as IntersectsGeometry;
  validateGeometry(geometry, path);
  return geometry;
}

function parseBox(value: unknown, path: FieldPath): Box {
  const raw = run(boxSchema, value, path, "GEO_INVALID_GEOMETRY");
  const sw = parsePosition(raw[0], [...path, 0]);
  const ne = parsePosition(raw[1], [...path, 1]);
  if (sw[1] > ne[1]) {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      path,
      `south ${sw[1]} is north of north ${ne[1]} (west > east is allowed and crosses the antimeridian)`,
    );
  }
  return [sw, ne];
}

const circleSchema = z.strictObject({
  center: z.unknown().optional(),
  radius: z.unknown().optional(),
});

function parseCircle(value: unknown, path: FieldPath): Shape {
  const c = run(circleSchema, value, path);
  const center = parsePosition(c.center, [...path, "center"]);
  const radius = parseDistance(c.radius, [...path, "radius"], LIMITS.maxDistanceM);
  return { kind: "circle", center, radius };
}

const shapeKeys = ["geometry", "box", "circle"] as const;

/** Reads exactly one of geometry/box/circle from an object. */
function parseShapeFrom(
  obj: { geometry?: unknown; box?: unknown; circle?: unknown },
  path: FieldPath,
): Shape {
  const present = shapeKeys.filter((k) => obj[k] !== undefined);
  if (present.length !== 1) {
    throw fieldError(
      "VALIDATION_FAILED",
      path,
      present.length === 0
        ? "one of geometry, box or circle is required"
        : `only one of geometry, box or circle may be given, got ${present.join(" and ")}`,
    );
  }
  if (obj.geometry !== undefined)
    return {
      kind: "polygon",
      geometry: parseGeometry(obj.geometry, [...path, "geometry"], WITHIN_TYPES) as PolygonGeometry,
    };
  if (obj.box !== undefined) return { kind: "box", box: parseBox(obj.box, [...path, "box"]) };
  return parseCircle(obj.circle, [...path, "circle"]);
}

// ---------------------------------------------------------------------------------------------
// Query bodies

const nearSchema = z.strictObject({
  point: z.unknown().optional(),
  limit: z.unknown().optional(),
  minDistance: z.unknown().optional(),
  maxDistance: z.unknown().optional(),
  filter: z.unknown().optional(),
  cursor: z.unknown().optional(),
});

/** Pre-screens a body: JSON-only, no `$`/prototype keys, bounded nesting, and an object at the top. */
function screen(body: unknown, root: FieldPath): void {
  assertSafeJson(body, root);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw fieldError("VALIDATION_FAILED", root, "must be a JSON object");
  }
}

function nearRange(
  min: unknown,
  max: unknown,
  path: FieldPath,
  requireMax: boolean,
): { minDistance?: number; maxDistance?: number } {
  const out: { minDistance?: number; maxDistance?: number } = {};
  if (min !== undefined)
    out.minDistance = parseDistance(min, [...path, "minDistance"], Math.PI * 6378100);
  if (max !== undefined)
    out.maxDistance = parseDistance(max, [...path, "maxDistance"], LIMITS.maxDistanceM);
  else if (requireMax)
    throw fieldError("VALIDATION_FAILED", [...path, "maxDistance"], "is required");
  if (
    out.minDistance !== undefined &&
    out.maxDistance !== undefined &&
    out.minDistance > out.maxDistance
  ) {
    throw fieldError(
      "VALIDATION_FAILED",
      [...path, "minDistance"],
      `must be ≤ maxDistance (${out.minDistance} > ${out.maxDistance})`,
    );
  }
  return out;
}

function parseNearFields(b: z.infer<typeof nearSchema>, path: FieldPath): NearQuery {
  if (b.point === undefined)
    throw fieldError("VALIDATION_FAILED", [...path, "point"], "is required");
  const q: NearQuery = {
    point: parsePosition(b.point, [...path, "point"]),
    limit: parseLimit(b.limit, [...path, "limit"]),
  };
  Object.assign(q, nearRange(b.minDistance, b.maxDistance, path, false));
  if (b.filter !== undefined) q.filter = parseFilter(b.filter, [...path, "filter"]);
  if (b.cursor !== undefined) q.cursor = decodeNearCursor(b.cursor, [...path, "cursor"]);
  return q;
}

/** Parses a `geo.near` body: `{point, limit?, minDistance?, maxDistance?, filter?, cursor?}`. */
export function parseNearBody(body: unknown): NearQuery {
  screen(body, []);
  return parseNearFields(run(nearSchema, body, []), []);
}

const withinSchema = z.strictObject({
  geometry: z.unknown().optional(),
  box: z.unknown().optional(),
  circle: z.unknown().optional(),
  limit: z.unknown().optional(),
  filter: z.unknown().optional(),
  cursor: z.unknown().optional(),
});

function parseWithinFields(b: z.infer<typeof withinSchema>, path: FieldPath): WithinQuery {
  const q: WithinQuery = {
    shape: parseShapeFrom(b, path),
    limit: parseLimit(b.limit, [...path, "limit"]),
  };
  if (b.filter !== undefined) q.filter = parseFilter(b.filter, [...path, "filter"]);
  if (b.cursor !== undefined) q.cursor = decodeIdCursor(b.cursor, [...path, "cursor"]);
  return q;
}

/** Parses a `geo.within` body: one of `geometry` (Polygon/MultiPolygon), `box`, `circle`, plus limit/filter/cursor. */
export function parseWithinBody(body: unknown): WithinQuery {
  screen(body, []);
  return parseWithinFields(run(withinSchema, body, []), []);
}

const intersectsSchema = z.strictObject({
  geometry: z.unknown().optional(),
  limit: z.unknown().optional(),
  filter: z.unknown().optional(),
  cursor: z.unknown().optional(),
});

function parseIntersectsFields(
  b: z.infer<typeof intersectsSchema>,
  path: FieldPath,
): IntersectsQuery {
  const q: IntersectsQuery = {
    geometry: parseGeometry(b.geometry, [...path, "geometry"], INTERSECTS_TYPES),
    limit: parseLimit(b.limit, [...path, "limit"]),
  };
  if (b.filter !== undefined) q.filter = parseFilter(b.filter, [...path, "filter"]);
  if (b.cursor !== undefined) q.cursor = decodeIdCursor(b.cursor, [...path, "cursor"]);
  return q;
}

/** Parses a `geo.intersects` body: `{geometry, limit?, filter?, cursor?}`. */
export function parseIntersectsBody(body: unknown): IntersectsQuery {
  screen(body, []);
  return parseIntersectsFields(run(intersectsSchema, body, []), []);
}

const countSchema = z.strictObject({
  near: z.unknown().optional(),
  within: z.unknown().optional(),
  intersects: z.unknown().optional(),
  filter: z.unknown().optional(),
});
const countNearSchema = z.strictObject({
  point: z.unknown().optional(),
  minDistance: z.unknown().optional(),
  maxDistance: z.unknown().optional(),
});
const countWithinSchema = z.strictObject({
  geometry: z.unknown().optional(),
  box: z.unknown().optional(),
  circle: z.unknown().optional(),
});
const countIntersectsSchema = z.strictObject({ geometry: z.unknown().optional() });

const selectionKeys = ["near", "within", "intersects"] as const;

function oneOf<K extends string>(
  obj: Partial<Record<K, unknown>>,
  keys: readonly K[],
  path: FieldPath,
): K {
  const present = keys.filter((k) => obj[k] !== undefined);
  if (present.length !== 1) {
    throw fieldError(
      "VALIDATION_FAILED",
      path,
      present.length === 0
        ? `one of ${keys.join(", ")} is required`
        : `only one of ${keys.join(", ")} may be given, got ${present.join(" and ")}`,
    );
  }
  return present[0]!;
}

/**
 * Parses a `geo.count` body: exactly one of `{"near": {point, minDistance?, maxDistance}}`,
 * `{"within": {geometry|box|circle}}` or `{"intersects": {geometry}}`, plus `filter`.
 */
export function parseCountBody(body: unknown): CountQuery {
  screen(body, []);
  const b = run(countSchema, body, []);
  let selection: Selection;
  switch (oneOf(b, selectionKeys, [])) {
    case "near": {
      const n = run(countNearSchema, b.near, ["near"]);
      if (n.point === undefined)
        throw fieldError("VALIDATION_FAILED", ["near", "point"], "is required");
      const range = nearRange(n.minDistance, n.maxDistance, ["near"], true);
      selection = {
        kind: "near",
        point: parsePosition(n.point, ["near", "point"]),
        maxDistance: range.maxDistance!,
      };
      if (range.minDistance !== undefined) selection.minDistance = range.minDistance;
      break;
    }
    case "within":
      selection = {
        kind: "within",
        shape: parseShapeFrom(run(countWithinSchema, b.within, ["within"]), ["within"]),
      };
      break;
    case "intersects": {
      const i = run(countIntersectsSchema, b.intersects, ["intersects"]);
      selection = {
        kind: "intersects",
        geometry: parseGeometry(i.geometry, ["intersects", "geometry"], INTERSECTS_TYPES),
      };
      break;
    }
  }
  const q: CountQuery = { selection };
  if (b.filter !== undefined) q.filter = parseFilter(b.filter, ["filter"]);
  return q;
}

const aggregateSchema = z.strictObject({
  box: z.unknown().optional(),
  cells: z.unknown().optional(),
  filter: z.unknown().optional(),
});

/** Parses a `geo.aggregate` body: `{box, cells: [cols, rows], filter?}` with 1 ≤ cols, rows ≤ 256. */
export function parseAggregateBody(body: unknown): AggregateQuery {
  screen(body, []);
  const b = run(aggregateSchema, body, []);
  if (b.box === undefined) throw fieldError("VALIDATION_FAILED", ["box"], "is required");
  const box = parseBox(b.box, ["box"]);
  if (b.cells === undefined) throw fieldError("VALIDATION_FAILED", ["cells"], "is required");
  const cells = run(cellsSchema, b.cells, ["cells"]);
  cells.forEach((n, i) => {
    if (n > LIMITS.maxGridCells)
      throw fieldError(
        "LIMIT_EXCEEDED",
        ["cells", i],
        `must be ≤ ${LIMITS.maxGridCells}, got ${n}`,
      );
  });
  const q: AggregateQuery = { box, cells: [cells[0], cells[1]] };
  if (b.filter !== undefined) q.filter = parseFilter(b.filter, ["filter"]);
  return q;
}

// ---------------------------------------------------------------------------------------------
// Places

const placeSchema = z.strictObject({
  id: idSchema,
  name: z.string().max(LIMITS.maxNameLength),
  category: categorySchema,
  location: z.unknown().optional(),
  tags: z.array(tagSchema).max(LIMITS.maxTags).optional(),
  properties: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).optional(),
  updatedAt: isoSchema.optional(),
});

function parsePlaceAt(value: unknown, path: FieldPath): PlaceInput {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fieldError("VALIDATION_FAILED", path, "must be a place object");
  }
  const p = run(placeSchema, value, path);
  if (p.location === undefined)
    throw fieldError("VALIDATION_FAILED", [...path, "location"], "is required");
  const location = parseGeometry(p.location, [...path, "location"], ["Point"]) as {
    type: "Point";
    coordinates: number[];
  };
  const place: PlaceInput = {
    id: p.id,
    name: p.name,
    category: p.category,
    location: { type: "Point", coordinates: [location.coordinates[0]!, location.coordinates[1]!] },
    tags: p.tags ?? [],
    properties: p.properties ?? {},
  };
  if (p.updatedAt !== undefined) place.updatedAt = p.updatedAt;
  return place;
}

/** Parses one place (`{id, name, category, location, tags?, properties?, updatedAt?}`). */
export function parsePlace(body: unknown): PlaceInput {
  screen(body, []);
  return parsePlaceAt(body, []);
}

const movedFromSchema = z.strictObject({ from: z.string().min(1).max(64), location: z.unknown() });

/**
 * Parses a `place.upsert` body: one place, or `{"places": [...]}` with 1..10 000 places and distinct
 * ids — plus, from coordinators, `"moved": {"<id>": {"from": region, "location": [lng, lat]}}` for
 * places moving in from another region.
 */
export function parseUpsertBody(body: unknown): {
  places: PlaceInput[];
  batch: boolean;
  moved?: Record<string, MovedFrom>;
} {
  screen(body, []);
  if (!Object.hasOwn(body as object, "places"))
    return { places: [parsePlaceAt(body, [])], batch: false };
  const b = run(batchSchema, body, []);
  if (b.places.length > LIMITS.maxUpsertBatch) {
    throw fieldError(
      "LIMIT_EXCEEDED",
      ["places"],
      `has ${b.places.length} places; at most ${LIMITS.maxUpsertBatch} per batch`,
    );
  }
  const seen = new Map<string, number>();
  const places = b.places.map((v, i) => {
    const place = parsePlaceAt(v, ["places", i]);
    const prev = seen.get(place.id);
    if (prev !== undefined)
      throw fieldError(
        "VALIDATION_FAILED",
        ["places", i, "id"],
        `duplicates the id of places[${prev}]`,
      );
    seen.set(place.id, i);
    return place;
  });
  if (b.moved === undefined) return { places, batch: true };
  const raw = run(z.record(z.string(), z.unknown()), b.moved, ["moved"]);
  const moved: Record<string, MovedFrom> = {};
  for (const [id, value] of Object.entries(raw)) {
    if (!seen.has(id))
      throw fieldError("VALIDATION_FAILED", ["moved", id], "names no place of the batch");
    const m = run(movedFromSchema, value, ["moved", id]);
    moved[id] = { from: m.from, location: parsePosition(m.location, ["moved", id, "location"]) };
  }
  return { places, batch: true, moved };
}

/** Parses a `place.get` / `place.delete` body: `{"id": "…"}`. */
export function parseIdBody(body: unknown): string {
  screen(body, []);
  return run(idBodySchema, body, []).id;
}

const idsBodySchema = z.strictObject({ ids: z.array(idSchema).min(1).max(LIMITS.maxBatch) });

/** Parses a `place.get` body: `{"id": "…"}`, or `{"ids": [...]}` (1..1000) for several at once. */
export function parseGetBody(body: unknown): { id: string } | { ids: string[] } {
  screen(body, []);
  if (!Object.hasOwn(body as object, "ids")) return { id: run(idBodySchema, body, []).id };
  return { ids: [...new Set(run(idsBodySchema, body, []).ids)] };
}

const deleteBodySchema = z.strictObject({
  id: idSchema,
  movedTo: z.strictObject({ region: z.string().min(1).max(64), place: z.unknown() }).optional(),
});

/**
 * Parses a `place.delete` body: `{"id": "…"}` — plus, from coordinators, `"movedTo": {"region",
 * "place"}` when the place is not gone but moves to another region.
 */
export function parseDeleteBody(body: unknown): { id: string; movedTo?: MovedTo } {
  screen(body, []);
  const b = run(deleteBodySchema, body, []);
  if (b.movedTo === undefined) return { id: b.id };
  return {
    id: b.id,
    movedTo: {
      region: b.movedTo.region,
      place: parsePlaceAt(b.movedTo.place, ["movedTo", "place"]),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Dispatch

/** Lower-cases a service name (service names are case-insensitive) and checks it is a geo service. */
export function normalizeService(service: string): GeoService | undefined {
  const s = service.toLowerCase();
  return (GEO_SERVICES as readonly string[]).includes(s) ? (s as GeoService) : undefined;
}

/**
 * Takes the optional `reply` field (`"features"` or `"hits"`, see `ReplyForm`) off a page
 * query's body; the rest is the query. A body that is not an object is left to the query parser.
 */
function splitReply(body: unknown): [unknown, { reply?: ReplyForm }] {
  if (
    typeof body !== "object" ||
    body === null ||
    Array.isArray(body) ||
    !Object.hasOwn(body, "reply")
  )
    return [body, {}];
  const { reply, ...rest } = body as Record<string, unknown>;
  if (reply !== "features" && reply !== "hits")
    throw fieldError("VALIDATION_FAILED", ["reply"], 'must be "features" or "hits"');
  return [rest, { reply }];
}

/**
 * Parses the body of any geo/place service into a discriminated union. Service names are
 * case-insensitive; an unknown name is SERVICE_NOT_FOUND.
 */
export function parseServiceBody(service: string, body: unknown): ServiceRequest {
  const s = normalizeService(service);
  if (s === undefined)
    throw fieldError(
      "SERVICE_NOT_FOUND",
      "service",
      `unknown service ${JSON.stringify(service.slice(0, 64))}`,
    );
  switch (s) {
    case "geo.near": {
      const [rest, reply] = splitReply(body);
      return { service: s, query: parseNearBody(rest), ...reply };
    }
    case "geo.within": {
      const [rest, reply] = splitReply(body);
      return { service: s, query: parseWithinBody(rest), ...reply };
    }
    case "geo.intersects": {
      const [rest, reply] = splitReply(body);
      return { service: s, query: parseIntersectsBody(rest), ...reply };
    }
    case "geo.count":
      return { service: s, query: parseCountBody(body) };
    case "geo.aggregate":
      return { service: s, query: parseAggregateBody(body) };
    case "place.upsert":
      return { service: s, ...parseUpsertBody(body) };
    case "place.get":
      return { service: s, ...parseGetBody(body) };
    case "place.delete":
      return { service: s, ...parseDeleteBody(body) };
  }
}

const searchSchema = z.strictObject({
  near: z.unknown().optional(),
  within: z.unknown().optional(),
  intersects: z.unknown().optional(),
  filter: z.unknown().optional(),
  limit: z.unknown().optional(),
  cursor: z.unknown().optional(),
});

/**
 * Parses the HTTP search body `{near|within|intersects, filter?, limit?, cursor?}` (near:
 * `{point, minDistance?, maxDistance?}`, within: `{geometry|box|circle}`, intersects: `{geometry}`).
 */
export function parseSearchBody(
  body: unknown,
): Extract<ServiceRequest, { service: "geo.near" | "geo.within" | "geo.intersects" }> {
  screen(body, []);
  const b = run(searchSchema, body, []);
  const rest = { limit: b.limit, filter: b.filter, cursor: b.cursor };
  switch (oneOf(b, selectionKeys, [])) {
    case "near": {
      const n = run(countNearSchema, b.near, ["near"]);
      const q = parseNearFields(
        { ...rest, point: n.point, minDistance: n.minDistance, maxDistance: n.maxDistance },
        [],
      );
      return { service: "geo.near", query: q };
    }
    case "within": {
      const w = run(countWithinSchema, b.within, ["within"]);
      const q: WithinQuery = {
        shape: parseShapeFrom(w, ["within"]),
        limit: parseLimit(b.limit, ["limit"]),
      };
      if (b.filter !== undefined) q.filter = parseFilter(b.filter, ["filter"]);
      if (b.cursor !== undefined) q.cursor = decodeIdCursor(b.cursor, ["cursor"]);
      return { service: "geo.within", query: q };
    }
    case "intersects": {
      const i = run(countIntersectsSchema, b.intersects, ["intersects"]);
      const q: IntersectsQuery = {
        geometry: parseGeometry(i.geometry, ["intersects", "geometry"], INTERSECTS_TYPES),
        limit: parseLimit(b.limit, ["limit"]),
      };
      if (b.filter !== undefined) q.filter = parseFilter(b.filter, ["filter"]);
      if (b.cursor !== undefined) q.cursor = decodeIdCursor(b.cursor, ["cursor"]);
      return { service: "geo.intersects", query: q };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Serialization (the inverse of the parsers, for coordinators forwarding sub-requests)

function shapeBody(shape: Shape): Record<string, unknown> {
  switch (shape.kind) {
    case "polygon":
      return { geometry: shape.geometry };
    case "box":
      return { box: shape.box };
    case "circle":
      return { circle: { center: shape.center, radius: shape.radius } };
  }
}

function withOptional(
  body: Record<string, unknown>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) body[k] = v;
  return body;
}

/** The JSON body of a parsed request: `parseServiceBody(r.service, serviceBodyOf(r))` gives `r` back. */
export function serviceBodyOf(request: ServiceRequest): Record<string, unknown> {
  switch (request.service) {
    case "geo.near": {
      const q = request.query;
      return withOptional(
        { point: q.point, limit: q.limit },
        {
          minDistance: q.minDistance,
          maxDistance: q.maxDistance,
          filter: q.filter,
          cursor: q.cursor === undefined ? undefined : encodeNearCursor(q.cursor),
          reply: request.reply,
        },
      );
    }
    case "geo.within":
    case "geo.intersects": {
      const q = request.query;
      const base = "shape" in q ? shapeBody(q.shape) : { geometry: q.geometry };
      return withOptional(
        { ...base, limit: q.limit },
        {
          filter: q.filter,
          cursor: q.cursor === undefined ? undefined : encodeIdCursor(q.cursor),
          reply: request.reply,
        },
      );
    }
    case "geo.count": {
      const sel = request.query.selection;
      const selection =
        sel.kind === "near"
          ? {
              near: withOptional(
                { point: sel.point, maxDistance: sel.maxDistance },
                { minDistance: sel.minDistance },
              ),
            }
          : sel.kind === "within"
            ? { within: shapeBody(sel.shape) }
            : { intersects: { geometry: sel.geometry } };
      return withOptional(selection, { filter: request.query.filter });
    }
    case "geo.aggregate":
      return withOptional(
        { box: request.query.box, cells: request.query.cells },
        { filter: request.query.filter },
      );
    case "place.upsert":
      if (!request.batch) return { ...request.places[0] };
      return withOptional({ places: request.places }, { moved: request.moved });
    case "place.get":
      return "ids" in request ? { ids: request.ids } : { id: request.id };
    case "place.delete":
      return withOptional({ id: request.id }, { movedTo: request.movedTo });
  }
}
