import type { RegionMap } from "@geomesh/geo";
import type { FastifyInstance } from "fastify";
import type { ClusterView } from "../cluster-view.js";

const unlimited = { rateLimit: false } as const;

/** `/v1/regions`, `/v1/cluster`, `/healthz`, `/readyz`. */
export function clusterRoutes(map: RegionMap, view: ClusterView) {
  return function routes(app: FastifyInstance, _opts: unknown, done: () => void): void {
    app.get(
      "/v1/regions",
      { schema: { summary: "Region polygons (GeoJSON) with live status", tags: ["cluster"] } },
      async () => {
        const status = await view.regionStatus();
        return {
          type: "FeatureCollection",
          features: map.regions().map((r) => ({
            type: "Feature",
            id: r.name,
            geometry: r.geometry,
            properties: { name: r.name, status: status[r.name] ?? null },
          })),
        };
      },
    );
    app.get(
      "/v1/cluster",
      {
        schema: { summary: "Brokers, workers, capacity and queues per region", tags: ["cluster"] },
      },
      async () => ({ regions: await view.regionStatus() }),
    );
    app.get("/healthz", { schema: { hide: true }, config: unlimited }, () => ({ status: "ok" }));
    app.get("/readyz", { schema: { hide: true }, config: unlimited }, async (_request, reply) => {
      const r = await view.ready();
      return reply
        .status(r.ready ? 200 : 503)
        .send({ status: r.ready ? "ready" : "not ready", ...r.detail });
    });
    done();
  };
}
