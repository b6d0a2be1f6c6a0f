/**
 * Store-side validation of an upsert batch. Bodies are parsed at the edge (`parsePlace`), but a
 * store is also called directly (loaders, tests), and batch atomicity means "one invalid place
 * writes nothing": so every place is checked here, cheaply, before a store opens a transaction.
 * The rules mirror `@geomesh/geo`'s place schema; messages name the field, never stored data.
 */
import {
  assertSafeJson,
  canonicalIso,
  fieldError,
  ID_PATTERN,
  LIMITS,
  type FieldPath,
  type LngLat,
  type Place,
  type PlaceInput,
  validatePosition,
} from "@geomesh/geo";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function checkString(value: unknown, path: FieldPath, min: number, max: number): string {
  if (typeof value !== "string") throw fieldError("VALIDATION_FAILED", path, "must be a string");
  if (value.length < min || value.length > max) {
    throw fieldError("VALIDATION_FAILED", path, `must be ${min}-${max} characters long`);
  }
  return value;
}

function checkLocation(value: unknown, path: FieldPath): LngLat {
  if (!isPlainObject(value) || value.type !== "Point") {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      path,
      'must be a GeoJSON Point {"type":"Point","coordinates":[lng,lat]}',
    );
  }
  const coords = value.coordinates;
  if (!Array.isArray(coords) || !coords.every((c) => typeof c === "number")) {
    throw fieldError(
      "GEO_INVALID_GEOMETRY",
      [...path, "coordinates"],
      "must be an array of numbers [lng, lat]",
    );
  }
  validatePosition(coords, [...path, "coordinates"]);
  return [coords[0] as number, coords[1] as number];
}

function checkTags(value: unknown, path: FieldPath): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw fieldError("VALIDATION_FAILED", path, "must be an array of strings");
  if (value.length > LIMITS.maxTags)
    throw fieldError("LIMIT_EXCEEDED", path, `must have at most ${LIMITS.maxTags} tags`);
  return value.map((tag, i) => checkString(tag, [...path, i], 1, LIMITS.maxTagLength));
}

function checkProperties(value: unknown, path: FieldPath): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw fieldError("VALIDATION_FAILED", path, "must be a JSON object");
  assertSafeJson(value, path);
  return value;
}

function checkUpdatedAt(value: unknown, path: FieldPath, now: string): string {
  if (value === undefined) return now;
  const iso = typeof value === "string" ? canonicalIso(value) : undefined;
  if (iso === undefined)
    throw fieldError("VALIDATION_FAILED", path, "must be an ISO-8601 date-time with a time zone");
  return iso;
}

/** Checks one place and returns a normalised copy (defaults filled, unknown fields dropped). */
export function preparePlace(input: unknown, path: FieldPath, now: string): Place {
  if (!isPlainObject(input)) throw fieldError("VALIDATION_FAILED", path, "must be a place object");
  const id = input.id;
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw fieldError(
      "VALIDATION_FAILED",
      [...path, "id"],
      `must be 1-${LIMITS.maxIdLength} printable ASCII characters without spaces`,
    );
  }
  return {
    id,
    name: checkString(input.name, [...path, "name"], 0, LIMITS.maxNameLength),
    category: checkString(input.category, [...path, "category"], 1, LIMITS.maxCategoryLength),
    location: { type: "Point", coordinates: checkLocation(input.location, [...path, "location"]) },
    tags: checkTags(input.tags, [...path, "tags"]),
    properties: checkProperties(input.properties, [...path, "properties"]),
    updatedAt: checkUpdatedAt(input.updatedAt, [...path, "updatedAt"], now),
  };
}

/**
 * Validates a whole batch before anything is written: every place (paths `places[i].…`) and
 * distinct ids. `updatedAt` defaults to `now`. Throws the first problem as a GeomeshError.
 */
export function preparePlaces(inputs: readonly PlaceInput[], now: Date = new Date()): Place[] {
  if (!Array.isArray(inputs))
    throw fieldError("VALIDATION_FAILED", ["places"], "must be an array of places");
  const stamp = now.toISOString();
  const seen = new Map<string, number>();
  return inputs.map((input, i) => {
    const place = preparePlace(input, ["places", i], stamp);
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
}
