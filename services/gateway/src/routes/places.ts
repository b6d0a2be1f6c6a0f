import type { Coordinator } from "@geomesh/coordinator";
import { GeomeshError } from "@geomesh/errors";
import { LIMITS, parseSearchBody } from "@geomesh/geo";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sendNdjsonPages, wantsNdjson } from "../plugins/ndjson.js";
import { schemas } from "../schemas.js";

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

/** The page size of a streamed (NDJSON) result when the request gives no limit. */
const STREAM_PAGE = LIMITS.maxLimit;

type Body = Record<string, unknown>;

/** Runs a paged query: as one FeatureCollection page, or (NDJSON) every page as a stream. */
async function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  body: Body,
  run: (body: Body) => Promise<unknown>,
): Promise<unknown> {
  if (!wantsNdjson(request)) return run(body);
  const paged = body.limit === undefined ? { ...body, limit: STREAM_PAGE } : body;
  return sendNdjsonPages(reply, async (cursor) => {
    const fc = (await run(cursor === undefined ? paged : { ...paged, cursor })) as {
      features: unknown[];
      next?: string;
      unavailable?: string[];
    };
    return fc;
  });
}

function objectBody(body: unknown, what: string): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new GeomeshError("VALIDATION_FAILED", `body must be ${what}`);
  return body as Body;
}

/** `/v1/places/*`: near, search, and place get/put/delete. */
export function placeRoutes(coordinator: Coordinator) {
  return function routes(app: FastifyInstance, _opts: unknown, done: () => void): void {
    app.get("/v1/places/near", { schema: schemas.near }, async (request, reply) =>
      answer(request, reply, nearBodyFromQuery(request.query as Body), (b) =>
        coordinator.execute("geo.near", b),
      ),
    );

    app.post("/v1/places/search", { schema: schemas.search }, async (request, reply) =>
      answer(request, reply, objectBody(request.body, "a JSON search object"), (b) =>
        coordinator.run(parseSearchBody(b)),
      ),
    );

    app.get("/v1/places/:id", { schema: schemas.getPlace }, async (request) =>
      coordinator.execute("place.get", { id: (request.params as { id: string }).id }),
    );

    app.put("/v1/places/:id", { schema: schemas.putPlace }, async (request) => {
      const id = (request.params as { id: string }).id;
      const body = objectBody(request.body, "a place object");
      const given = body.id;
      if (given !== undefined && given !== id)
        throw new GeomeshError("VALIDATION_FAILED", "body id differs from the id in the path", {
          data: { field: "id" },
        });
      const result = (await coordinator.execute("place.upsert", { ...body, id })) as {
        results: unknown[];
      };
      return result.results[0];
    });

    app.delete("/v1/places/:id", { schema: schemas.deletePlace }, async (request) =>
      coordinator.execute("place.delete", { id: (request.params as { id: string }).id }),
    );
    done();
  };
}
