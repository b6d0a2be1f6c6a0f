import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Coordinator, executeLeaf } from "@geomesh/coordinator";
import { GeomeshError } from "@geomesh/errors";
import { defaultRegionMap } from "@geomesh/geo";
import type { GeoStore } from "@geomesh/store";
import { EmbeddedGeoStore } from "@geomesh/store-embedded";
import type { FastifyInstance } from "fastify";
import { type AppOptions, buildApp } from "../app.js";
import type { ClusterView } from "../cluster-view.js";

/** A place body as PUT/bulk take it. */
export const place = (id: string, lng: number, lat: number, category = "cafe") => ({
  id,
  name: `place ${id}`,
  category,
  location: { type: "Point", coordinates: [lng, lat] },
  tags: ["t"],
  properties: { n: 1 },
});

export const healthyCluster: ClusterView = {
  regionStatus: () =>
    Promise.resolve({
      NE: {
        reachable: true,
        workers: 2,
        freeCapacity: 8,
        queued: 3,
        pending: 5,
        counters: { requests: 10, overflowOut: 4, overflowIn: 1 },
      },
      South: { reachable: false },
    }),
  ready: () => Promise.resolve({ ready: true, detail: {} }),
};

export interface AppFixture {
  readonly app: FastifyInstance;
  readonly coordinator: Coordinator;
  readonly stores: ReadonlyMap<string, GeoStore>;
  /** Regions whose leaves fail as if their broker were down (503 REGION_UNAVAILABLE). */
  readonly down: Set<string>;
  close(): Promise<void>;
}

/**
 * The gateway app over five real embedded stores in a temp dir, with an in-process coordinator
 * (leaf requests run on the stores directly instead of through brokers).
 */
export async function appFixture(
  options: Partial<Omit<AppOptions, "coordinator">> = {},
): Promise<AppFixture> {
  const map = defaultRegionMap();
  const dir = mkdtempSync(join(tmpdir(), "geomesh-gw-"));
  const stores = new Map<string, GeoStore>();
  for (const name of map.names()) {
    const store = new EmbeddedGeoStore({ region: name, path: join(dir, `${name}.sqlite`) });
    await store.init();
    stores.set(name, store);
  }
  const down = new Set<string>();
  const coordinator = new Coordinator(map, (region, request) =>
    down.has(region)
      ? Promise.reject(
          new GeomeshError("REGION_UNAVAILABLE", `region ${region}'s broker is not reachable`, {
            data: { unavailable: [region] },
          }),
        )
      : executeLeaf(stores.get(region)!, region, map, request),
  );
  const app = await buildApp({ coordinator, cluster: healthyCluster, ...options });
  return {
    app,
    coordinator,
    stores,
    down,
    async close() {
      await app.close();
      for (const s of stores.values()) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
