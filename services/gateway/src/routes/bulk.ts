import type { Coordinator } from "@geomesh/coordinator";
import { GeomeshError, isGeomeshError } from "@geomesh/errors";
import { LIMITS, type PlaceInput, parsePlace } from "@geomesh/geo";
import type { FastifyInstance } from "fastify";
import { NDJSON } from "../plugins/ndjson.js";
import { schemas } from "../schemas.js";

/** At most this many rejected lines are listed in a bulk answer (`rejected` counts them all). */
export const BULK_ERRORS_LISTED = 100;

interface LineError {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

/**
 * Reads an NDJSON body: one place per non-blank line. Each line is parsed and checked on its own
 * (JSON, the place rules, an owning region, an id not already given on an earlier line), so one
 * bad line costs only itself.
 */
export function parsePlaceLines(
  text: string,
  coordinator: Coordinator,
): { places: PlaceInput[]; errors: LineError[] } {
  const places: PlaceInput[] = [];
  const errors: LineError[] = [];
  const firstLineOf = new Map<string, number>();
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const source = raw.trim();
    if (source === "") return;
    try {
      let value: unknown;
      try {
        value = JSON.parse(source);
      } catch {
        throw new GeomeshError("BAD_REQUEST", "line is not valid JSON");
      }
      const place = parsePlace(value);
      coordinator.map.requireRegionOf(place.location.coordinates);
      const earlier = firstLineOf.get(place.id);
      if (earlier !== undefined)
        throw new GeomeshError(
          "VALIDATION_FAILED",
          `id ${JSON.stringify(place.id)} was already given on line ${earlier}`,
        );
      firstLineOf.set(place.id, line);
      places.push(place);
    } catch (err) {
      if (!isGeomeshError(err)) throw err;
      errors.push({ line, code: err.code, message: err.message });
    }
  });
  return { places, errors };
}

/** `POST /v1/places/bulk`: NDJSON upsert; good lines are written (per region, in batches), bad ones reported. */
export function bulkRoutes(coordinator: Coordinator) {
  return function routes(app: FastifyInstance, _opts: unknown, done: () => void): void {
    app.post("/v1/places/bulk", { schema: schemas.bulk }, async (request) => {
      if (typeof request.body !== "string")
        throw new GeomeshError("BAD_REQUEST", `send the places as ${NDJSON}, one per line`);
      const { places, errors } = parsePlaceLines(request.body, coordinator);
      const listed = errors.slice(0, BULK_ERRORS_LISTED);
      if (places.length === 0) {
        const first = errors[0];
        throw new GeomeshError(
          "VALIDATION_FAILED",
          first
            ? `no line was accepted (${errors.length} rejected); line ${first.line}: ${first.message}`
            : "the body holds no places (one JSON place per line)",
          { data: { rejected: errors.length, errors: listed } },
        );
      }
      let created = 0;
      for (let i = 0; i < places.length; i += LIMITS.maxBatch) {
        const results = await coordinator.upsert(places.slice(i, i + LIMITS.maxBatch), true);
        created += results.filter((r) => r.status === "created").length;
      }
      return {
        accepted: places.length,
        rejected: errors.length,
        created,
        updated: places.length - created,
        errors: listed,
      };
    });
    done();
  };
}
