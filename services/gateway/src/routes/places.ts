import type { Coordinator } from "@geomesh/coordinator";
import { GeomeshError } from "@geomesh/errors";
import { parseSearchBody } from "@geomesh/geo";
import type { FastifyInstance } from "fastify";

const NEAR_PARAMS = new Set([
  "lng",
  "lat",
  "limit",
  "maxDistance",
  "minDistance",
  "category",
  "cursor",
]);

/** Reads a finite number from a query-string value, naming the parameter when it is not one. */
function numberParam(
  query: Record<string, unknown>,
  name: string,
  required: boolean,
): number | undefined {
  const raw = query[name];
  if (raw === undefined) {
    if (required)
      throw new GeomeshError("VALIDATION_FAILED", `query parameter ${name} is required`, {
        data: { field: name },
      });
    return undefined;
  }
  if (typeof raw !== "string" || !/^-?\d+(\.\d+)?$/.test(raw.trim()))
    throw new GeomeshError("VALIDATION_FAILED", `query parameter ${name} must be a number`, {
      data: { field: name },
    });
  return Number(raw);
}

/** The near query of `GET /v1/places/near` as the body `geo.near` takes. */
export function nearBodyFromQuery(query: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(query)) {
    if (!NEAR_PARAMS.has(key))
      throw new GeomeshError(
        "VALIDATION_FAILED",
        `unknown query parameter ${JSON.stringify(key.slice(0, 40))}; allowed: ${[...NEAR_PARAMS].join(", ")}`,
        { data: { field: key.slice(0, 40) } },
      );
    if (Array.isArray(query[key]))
      throw new GeomeshError("VALIDATION_FAILED", `query parameter ${key} given more than once`, {
        data: { field: key },
      });
  }
  const body: Record<string, unknown> = {
    point: [numberParam(query, "lng", true), numberParam(query, "lat", true)],
  };
  for (const name of ["limit", "maxDistance", "minDistance"] as const) {
    const v = numberParam(query, name, false);
    if (v !== undefined) body[name] = v;
  }
  if (typeof query.category === "string") body.filter = { category: query.category };
  if (typeof query.cursor === "string") body.cursor = query.cursor;
  return body;
}

const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 128 } },
} as const;

/** `/v1/places/*`: near, search, and place get/put/delete. */
export function placeRoutes(coordinator: Coordinator) {
  return function routes(app: FastifyInstance, _opts: unknown, done: () => void): void {
    app.get(
      "/v1/places/near",
      {
        schema: {
          summary: "Nearest places to a point (GeoJSON FeatureCollection, nearest first)",
          tags: ["places"],
        },
      },
      async (request) =>
        coordinator.execute(
          "geo.near",
          nearBodyFromQuery(request.query as Record<string, unknown>),
        ),
    );

    app.post(
      "/v1/places/search",
      {
        schema: {
          summary: "Search by near / within / intersects with filter, limit and cursor",
          tags: ["places"],
        },
      },
      async (request) => coordinator.run(parseSearchBody(request.body)),
    );

    app.get(
      "/v1/places/:id",
      { schema: { summary: "One place as a GeoJSON Feature", tags: ["places"], params: idParams } },
      async (request) =>
        coordinator.execute("place.get", { id: (request.params as { id: string }).id }),
    );

    app.put(
      "/v1/places/:id",
      {
        schema: {
          summary: "Create or replace a place (written to the region that owns its location)",
          tags: ["places"],
          params: idParams,
        },
      },
      async (request) => {
        const id = (request.params as { id: string }).id;
        const body = request.body;
        if (typeof body !== "object" || body === null || Array.isArray(body))
          throw new GeomeshError("VALIDATION_FAILED", "body must be a place object");
        const given = (body as { id?: unknown }).id;
        if (given !== undefined && given !== id)
          throw new GeomeshError("VALIDATION_FAILED", "body id differs from the id in the path", {
            data: { field: "id" },
          });
        const result = (await coordinator.execute("place.upsert", { ...body, id })) as {
          results: unknown[];
        };
        return result.results[0];
      },
    );

    app.delete(
      "/v1/places/:id",
      { schema: { summary: "Delete a place", tags: ["places"], params: idParams } },
      async (request) =>
        coordinator.execute("place.delete", { id: (request.params as { id: string }).id }),
    );
    done();
  };
}
