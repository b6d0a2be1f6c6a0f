import type { ErrorCode } from "@geomesh/errors";

/** A candidate `place.upsert` body (still to be validated), or why there cannot be one. */
export type BodyResult =
  | { readonly ok: true; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

const PLACE_FIELDS = new Set(["id", "name", "category", "tags"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** GeoJSON positions may carry an altitude; places are 2-D, so a third number is dropped. */
function dropAltitude(coordinates: unknown): unknown {
  return Array.isArray(coordinates) &&
    coordinates.length === 3 &&
    typeof coordinates[2] === "number"
    ? coordinates.slice(0, 2)
    : coordinates;
}

/** Splits a `;`-separated tag list, trimming and dropping empty entries. */
export function splitTags(value: string): string[] {
  return value
    .split(";")
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0);
}

/**
 * Maps a GeoJSON Feature to a `place.upsert` body: `id` from `feature.id` (numbers become
 * strings) or `properties.id`; `name`, `category`, `tags` (an array, or a `;`-separated string)
 * from properties; every other property into `properties`. Only Point geometries are places.
 * Keys are copied as own data properties (never assigned), so a `__proto__` or `$`-key reaches
 * the validator, which refuses it, instead of altering an object's prototype.
 */
export function featureToPlaceBody(feature: unknown): BodyResult {
  if (!isRecord(feature) || feature.type !== "Feature") {
    const type = isRecord(feature) ? ` (type ${JSON.stringify(feature.type) ?? "missing"})` : "";
    return {
      ok: false,
      code: "VALIDATION_FAILED",
      reason: `not a GeoJSON Feature: got ${describe(feature)}${type}`,
    };
  }
  const geometry = feature.geometry;
  if (!isRecord(geometry)) {
    return {
      ok: false,
      code: "GEO_INVALID_GEOMETRY",
      reason: `geometry: expected a Point, got ${describe(geometry)}`,
    };
  }
  if (geometry.type !== "Point") {
    return {
      ok: false,
      code: "GEO_INVALID_GEOMETRY",
      reason: `geometry: only Point features are places, got ${typeof geometry.type === "string" ? geometry.type.slice(0, 40) : describe(geometry.type)}`,
    };
  }
  const props = feature.properties ?? {};
  if (!isRecord(props)) {
    return {
      ok: false,
      code: "VALIDATION_FAILED",
      reason: `properties: expected an object, got ${describe(props)}`,
    };
  }
  const entries: [string, unknown][] = [];
  const featureId = feature.id ?? props.id;
  if (featureId !== undefined)
    entries.push(["id", typeof featureId === "number" ? String(featureId) : featureId]);
  if (props.name !== undefined) entries.push(["name", props.name]);
  if (props.category !== undefined) entries.push(["category", props.category]);
  entries.push(["location", { type: "Point", coordinates: dropAltitude(geometry.coordinates) }]);
  entries.push([
    "tags",
    typeof props.tags === "string" ? splitTags(props.tags) : (props.tags ?? []),
  ]);
  entries.push([
    "properties",
    Object.fromEntries(Object.entries(props).filter(([key]) => !PLACE_FIELDS.has(key))),
  ]);
  return { ok: true, body: Object.fromEntries(entries) };
}
