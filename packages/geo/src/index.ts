export * from "./model.js";
export {
  EARTH_RADIUS_M,
  BOUNDARY_TOLERANCE_RAD,
  BOUNDS_PAD_DEG,
  metersToRadians,
  radiansToMeters,
  distanceRadians,
  distanceMeters,
  DistanceFrom,
  distanceToSegment,
  distanceToPolygon,
  distanceToGeometry,
  pointInBox,
  pointInCircle,
  pointInPolygon,
  pointIntersects,
  pointInShape,
  aggregateCellOf,
  arcBounds,
  circleBounds,
  geometryBounds,
  boxBounds,
  shapeBounds,
  expandBox,
  boxesIntersect,
} from "./spherical.js";
export {
  encodeNearCursor,
  encodeIdCursor,
  decodeNearCursor,
  decodeIdCursor,
  ID_PATTERN,
} from "./cursor.js";
export { formatPath, fieldError, type FieldPath } from "./field-error.js";
export { assertSafeJson, MAX_JSON_NODES } from "./safe-json.js";
export { validateGeometry, validatePosition, countPositions } from "./validate-geometry.js";
export {
  parseNearBody,
  parseWithinBody,
  parseIntersectsBody,
  parseCountBody,
  parseAggregateBody,
  parseUpsertBody,
  parsePlace,
  parseIdBody,
  parseGetBody,
  parseDeleteBody,
  parseFilter,
  parseGeometry,
  parsePosition,
  parseServiceBody,
  parseSearchBody,
  serviceBodyOf,
  normalizeService,
  canonicalIso,
  INTERSECTS_TYPES,
  WITHIN_TYPES,
} from "./schemas.js";
export { matchesFilter, completePlace } from "./place.js";
export { prepareGeometry, PreparedGeometry, PreparedPolygon } from "./prepared-geometry.js";
export {
  RegionMap,
  buildRegionMap,
  defaultRegionMap,
  DEFAULT_REGION_SPECS,
  REGION_MARGIN_M,
  type RegionSpec,
  type RegionPolygonSource,
  type RegionGeometry,
  type RegionMapOptions,
  type RegionMapStats,
} from "./region-map.js";
export { US_STATES, isUsStateCode, type UsStateCode } from "./us-states.js";
export {
  mergeNearPages,
  mergeIdPages,
  mergeCounts,
  mergeGridCounts,
  kthDistance,
  planNear,
  type NearPlan,
  type NearCandidate,
} from "./merge.js";
