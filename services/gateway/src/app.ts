import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Coordinator } from "@geomesh/coordinator";
import type { Logger } from "@geomesh/logger";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { ClusterView } from "./cluster-view.js";
import { GatewayMetrics } from "./gateway-metrics.js";
import errors from "./plugins/errors.js";
import metrics from "./plugins/metrics.js";
import ndjson from "./plugins/ndjson.js";
import rateLimit, { type RateLimitOptions } from "./plugins/rate-limit.js";
import { bulkRoutes } from "./routes/bulk.js";
import { clusterRoutes } from "./routes/cluster.js";
import { placeRoutes } from "./routes/places.js";

export interface AppOptions {
  readonly coordinator: Coordinator;
  readonly cluster: ClusterView;
  readonly logger?: Logger;
  /** Per client address; default: off (`max: 0`). */
  readonly rateLimit?: RateLimitOptions;
  /** Default: a registry of the app's own over `cluster.regionStatus`. */
  readonly metrics?: GatewayMetrics;
}

/** Request bodies above this are refused with 400 LIMIT_EXCEEDED. */
export const BODY_LIMIT = 1024 * 1024;

/** Builds the gateway's HTTP app (no listening: `gateway-service.ts` does that; tests use `inject`). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  // Typed as Fastify's base logger so the instance keeps Fastify's default generics.
  const loggerInstance: FastifyBaseLogger | undefined = options.logger?.child({
    component: "gateway-http",
  });
  const app: FastifyInstance = Fastify({
    bodyLimit: BODY_LIMIT,
    ...(loggerInstance ? { loggerInstance } : {}),
    // Request latency goes to /metrics; per-request log lines would drown the rest.
    logController: new LogController({ disableRequestLogging: true }),
    // Parse like JSON.parse (a `__proto__` key stays an own, inert property); the geo parsers then
    // reject `__proto__`/`constructor`/`prototype` keys anywhere with a message naming the field —
    // the same rule and message as on the ZeroMQ path.
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
  });
  // Route schemas document the API (schemas.ts); the geo parsers validate, so Ajv must neither
  // reject nor strip/coerce, and responses are serialized whole.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(errors);
  await app.register(metrics, {
    metrics: options.metrics ?? new GatewayMetrics(() => options.cluster.regionStatus()),
  });
  await app.register(rateLimit, options.rateLimit ?? { max: 0, windowMs: 60_000 });
  await app.register(ndjson);
  await app.register(swagger, {
    openapi: {
      info: {
        title: "geomesh",
        description:
          "Geo-sharded location search: GeoJSON in and out. Errors are {error:{code,message},status}; " +
          "send `Accept: application/x-ndjson` to near/search to stream the whole result.",
        version: "0.1.0",
      },
      tags: [
        { name: "places", description: "Queries and writes" },
        { name: "cluster", description: "Regions, brokers and workers" },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(placeRoutes(options.coordinator));
  await app.register(bulkRoutes(options.coordinator));
  await app.register(clusterRoutes(options.coordinator.map, options.cluster));
  return app;
}
