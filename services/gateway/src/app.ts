import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Coordinator } from "@geomesh/coordinator";
import type { Logger } from "@geomesh/logger";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import errors from "./plugins/errors.js";
import { type ClusterView, clusterRoutes } from "./routes/cluster.js";
import { placeRoutes } from "./routes/places.js";

export interface AppOptions {
  readonly coordinator: Coordinator;
  readonly cluster: ClusterView;
  readonly logger?: Logger;
}

/** Request bodies above this are refused with 400 LIMIT_EXCEEDED. */
export const BODY_LIMIT = 1024 * 1024;

/** Builds the gateway's HTTP app (no listening: `server.ts` does that; tests use `inject`). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  // Typed as Fastify's base logger so the instance keeps Fastify's default generics.
  const loggerInstance: FastifyBaseLogger | undefined = options.logger?.child({
    component: "gateway-http",
  });
  const app: FastifyInstance = Fastify({
    bodyLimit: BODY_LIMIT,
    ...(loggerInstance ? { loggerInstance } : {}),
    disableRequestLogging: true,
    // Parse like JSON.parse (a `__proto__` key stays an own, inert property); the geo parsers then
    // reject `__proto__`/`constructor`/`prototype` keys anywhere with a message naming the field —
    // the same rule and message as on the ZeroMQ path.
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
  });
  await app.register(errors);
  await app.register(swagger, {
    openapi: {
      info: {
        title: "geomesh",
        description:
          "Geo-sharded location search: GeoJSON in and out. Errors are {error:{code,message},status}.",
        version: "0.1.0",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(placeRoutes(options.coordinator));
  await app.register(clusterRoutes(options.coordinator.map, options.cluster));
  return app;
}
