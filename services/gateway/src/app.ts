import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Coordinator } from "@geomesh/coordinator";
import type { Logger } from "@geomesh/logger";
import type { Socket } from "node:net";
import { GeomeshError } from "@geomesh/errors";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from "fastify";
import type { ClusterView } from "./cluster-view.js";
import { GatewayMetrics } from "./gateway-metrics.js";
import errors from "./plugins/errors.js";
import mapPage from "./plugins/map-page.js";
import metrics from "./plugins/metrics.js";
import ndjson from "./plugins/ndjson.js";
import rateLimit, { type RateLimitOptions } from "./plugins/rate-limit.js";
import { bulkRoutes } from "./routes/bulk.js";
import type { LiveHub } from "./live/live-hub.js";
import { clusterRoutes } from "./routes/cluster.js";
import { liveRoutes } from "./routes/live.js";
import { placeRoutes } from "./routes/places.js";

export interface AppOptions {
  readonly coordinator: Coordinator;
  readonly cluster: ClusterView;
  readonly logger?: Logger;
  /** Per client address; default: off (`max: 0`). */
  readonly rateLimit?: RateLimitOptions;
  /** Default: a registry of the app's own over `cluster.regionStatus`. */
  readonly metrics?: GatewayMetrics;
  /** Live feeds (`WS /v1/live`); without it the route is absent. */
  readonly live?: LiveHub;
}

/** Request bodies above this are refused with 400 LIMIT_EXCEEDED. */
export const BODY_LIMIT = 1024 * 1024;
/** A request (headers and body) must arrive within this, else 408 (slow clients hold no socket forever). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Longest path segment (ids are ≤ 128 characters; percent-encoding may triple that). */
const MAX_PARAM_LENGTH = 512;

/** The geomesh error body for errors Node's HTTP parser raises before Fastify sees a request. */
function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const [status, code, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "TIMEOUT", `the request did not arrive within ${REQUEST_TIMEOUT_MS} ms`]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "LIMIT_EXCEEDED", "the request headers are too large"]
        : [400, "BAD_REQUEST", "malformed HTTP request"];
  const body = JSON.stringify({ error: { code, message, retryable: status === 408 }, status });
  return `HTTP/1.1 ${status} ${status === 408 ? "Request Timeout" : status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

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
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Node would answer a request without Host itself, with an empty 400; let the app answer.
    http: { requireHostHeader: false },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Router-level failures (bad percent-encoding, an over-long segment) in the geomesh body too.
    frameworkErrors: (error, _request, reply) => {
      const out =
        error.code === "FST_ERR_MAX_PARAM_LENGTH"
          ? new GeomeshError(
              "LIMIT_EXCEEDED",
              `a path segment is longer than ${MAX_PARAM_LENGTH} characters`,
            )
          : new GeomeshError("BAD_REQUEST", "the URL is not valid (bad percent-encoding?)");
      void (reply as FastifyReply).status(out.status).send(out.toWire());
    },
    // Malformed HTTP (bad request line, framing, oversized headers, too slow): answered in the
    // geomesh error body, then the connection is closed.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === "ECONNRESET" || socket.destroyed) return;
      if (socket.writable) socket.end(clientErrorResponse(err));
      else socket.destroy(err);
    },
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
  if (options.live) await app.register(liveRoutes(options.live));
  await app.register(mapPage);
  return app;
}
