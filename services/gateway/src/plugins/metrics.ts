import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { GatewayMetrics } from "../gateway-metrics.js";

/** Times every request into the latency histogram and serves `GET /metrics` (Prometheus text). */
export default fp(
  function metricsPlugin(
    app: FastifyInstance,
    opts: { metrics: GatewayMetrics },
    done: (err?: Error) => void,
  ) {
    const { metrics } = opts;
    app.addHook("onResponse", (request, reply, next) => {
      metrics.http.observe(
        {
          method: request.method,
          // The route pattern, not the URL: ids and query strings must not become label values.
          route: request.routeOptions.url ?? "unmatched",
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      next();
    });
    app.get(
      "/metrics",
      { schema: { hide: true }, config: { rateLimit: false } },
      async (_request, reply) =>
        reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
    done();
  },
  { name: "geomesh-metrics" },
);
