/**
 * TypeBox schemas of the HTTP API, for the OpenAPI document at `/docs`.
 *
 * They document; they do not validate. Every input is parsed by `@geomesh/geo`'s parsers — the
 * same code the ZeroMQ path runs — so HTTP and ZeroMQ reject the same inputs with the same
 * messages, unknown fields are rejected (Ajv would strip or coerce them), and geometry is checked
 * by MongoDB's rules. `app.ts` therefore installs a validator that accepts everything and a
 * serializer that is plain `JSON.stringify` (a response schema must never drop fields).
 */
import { LIMITS } from "@geomesh/geo";
import { Type } from "@sinclair/typebox";

const LngLat = Type.Tuple([Type.Number({ minimum: -180, maximum: 180 }), Type.Number()], {
  description: "[lng, lat] in degrees (lat in [-90, 90])",
});

const GeoJsonGeometry = Type.Object(
  { type: Type.String(), coordinates: Type.Array(Type.Unknown()) },
  {
    description: `GeoJSON geometry; polygons use geodesic edges (as MongoDB), ≤ ${LIMITS.maxVertices} vertices`,
  },
);

const Filter = Type.Object(
  {
    category: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: LIMITS.maxCategories })]),
    ),
    tags: Type.Optional(Type.Array(Type.String(), { maxItems: LIMITS.maxTags })),
    namePrefix: Type.Optional(Type.String()),
    updatedAt: Type.Optional(
      Type.Object({
        from: Type.Optional(Type.String({ format: "date-time" })),
        to: Type.Optional(Type.String({ format: "date-time" })),
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "Allow-listed filters; `$` keys are rejected",
  },
);

const limit = Type.Integer({ minimum: 1, maximum: LIMITS.maxLimit, default: LIMITS.defaultLimit });
const distance = (max: number, what: string) =>
  Type.Number({ minimum: 0, maximum: max, description: `${what} (metres)` });
const cursor = Type.String({
  maxLength: LIMITS.maxCursorLength,
  description: "`next` of the previous page",
});

export const PlaceFeature = Type.Object({
  type: Type.Literal("Feature"),
  id: Type.String(),
  geometry: Type.Object({ type: Type.Literal("Point"), coordinates: LngLat }),
  properties: Type.Object({
    name: Type.String(),
    category: Type.String(),
    tags: Type.Array(Type.String()),
    updatedAt: Type.String({ format: "date-time" }),
    region: Type.String(),
    distance: Type.Optional(Type.Number({ description: "metres, for near queries" })),
    properties: Type.Record(Type.String(), Type.Unknown()),
  }),
});

export const FeatureCollection = Type.Object(
  {
    type: Type.Literal("FeatureCollection"),
    features: Type.Array(PlaceFeature),
    next: Type.Optional(
      Type.String({ description: "cursor of the next page, when there is more" }),
    ),
    partial: Type.Optional(
      Type.Literal(true, {
        description: "some region did not answer: the features are the others' exact answer",
      }),
    ),
    unavailable: Type.Optional(
      Type.Array(Type.String(), { description: "the regions that did not answer" }),
    ),
  },
  {
    description:
      "GeoJSON FeatureCollection. With `Accept: application/x-ndjson` the whole result streams " +
      'instead: one Feature per line, then `{"type":"End","count":N}` (or `{"type":"End",' +
      '"count":N,"next":…}` when the stream cap is reached). An error mid-stream is one error line.',
  },
);

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "see docs/errors.md" }),
      message: Type.String(),
      retryable: Type.Boolean(),
      data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
    status: Type.Integer(),
  },
  { description: "Every error: a code from docs/errors.md, a message, the HTTP status" },
);

const errors = {
  400: ErrorBody,
  404: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
  504: ErrorBody,
};

export const NearQuerystring = Type.Object(
  {
    lng: Type.Number({ minimum: -180, maximum: 180 }),
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    limit: Type.Optional(limit),
    minDistance: Type.Optional(distance(Math.PI * 6_378_100, "smallest distance")),
    maxDistance: Type.Optional(distance(LIMITS.maxDistanceM, "largest distance")),
    category: Type.Optional(Type.String()),
    cursor: Type.Optional(cursor),
  },
  { additionalProperties: false },
);

const Shape = Type.Union([
  Type.Object({ geometry: GeoJsonGeometry }, { additionalProperties: false }),
  Type.Object(
    { box: Type.Tuple([LngLat, LngLat], { description: "[[west, south], [east, north]]" }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      circle: Type.Object({
        center: LngLat,
        radius: distance(LIMITS.maxDistanceM, "radius"),
      }),
    },
    { additionalProperties: false },
  ),
]);

export const SearchBody = Type.Object(
  {
    near: Type.Optional(
      Type.Object({
        point: LngLat,
        minDistance: Type.Optional(distance(Math.PI * 6_378_100, "smallest distance")),
        maxDistance: Type.Optional(distance(LIMITS.maxDistanceM, "largest distance")),
      }),
    ),
    within: Type.Optional(Shape),
    intersects: Type.Optional(Type.Object({ geometry: GeoJsonGeometry })),
    filter: Type.Optional(Filter),
    limit: Type.Optional(limit),
    cursor: Type.Optional(cursor),
  },
  { additionalProperties: false, description: "Exactly one of near, within, intersects" },
);

export const PlaceBody = Type.Object(
  {
    id: Type.Optional(Type.String({ description: "must equal the id in the path if given" })),
    name: Type.String({ maxLength: LIMITS.maxNameLength }),
    category: Type.String({ minLength: 1, maxLength: LIMITS.maxCategoryLength }),
    location: Type.Object({ type: Type.Literal("Point"), coordinates: LngLat }),
    tags: Type.Optional(Type.Array(Type.String(), { maxItems: LIMITS.maxTags })),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    updatedAt: Type.Optional(Type.String({ format: "date-time" })),
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: LIMITS.maxIdLength }),
});

export const UpsertResult = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal("created"), Type.Literal("updated")]),
  region: Type.String(),
});

export const BulkResult = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  errors: Type.Array(
    Type.Object({
      line: Type.Integer({ description: "1-based line number in the request body" }),
      code: Type.String(),
      message: Type.String(),
    }),
    { description: "the first rejected lines (at most 100; `rejected` counts them all)" },
  ),
});

export const schemas = {
  near: {
    summary: "Nearest places to a point (nearest first, ties by id)",
    tags: ["places"],
    querystring: NearQuerystring,
    response: { 200: FeatureCollection, ...errors },
  },
  search: {
    summary: "Search by near / within / intersects with filter, limit and cursor",
    tags: ["places"],
    body: SearchBody,
    response: { 200: FeatureCollection, ...errors },
  },
  getPlace: {
    summary: "One place as a GeoJSON Feature",
    tags: ["places"],
    params: IdParams,
    response: { 200: PlaceFeature, ...errors },
  },
  putPlace: {
    summary: "Create or replace a place (written to the region that owns its location)",
    tags: ["places"],
    params: IdParams,
    body: PlaceBody,
    response: { 200: UpsertResult, ...errors },
  },
  deletePlace: {
    summary: "Delete a place",
    tags: ["places"],
    params: IdParams,
    response: {
      200: Type.Object({ id: Type.String(), deleted: Type.Literal(true), region: Type.String() }),
      ...errors,
    },
  },
  bulk: {
    summary:
      "Upsert places from NDJSON (one place per line, body ≤ 1 MiB); bad lines are reported, good ones written",
    tags: ["places"],
    consumes: ["application/x-ndjson"],
    body: Type.String({ description: "NDJSON: one place object (as PUT takes, with id) per line" }),
    response: { 200: BulkResult, ...errors },
  },
} as const;
