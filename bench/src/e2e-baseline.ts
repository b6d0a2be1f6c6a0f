/**
 * Baseline for the end-to-end benchmark (own process): a bare Fastify app with one route,
 * `GET /near?lng&lat&limit`, running the query through an in-process `Coordinator` whose leaf
 * calls `executeLeaf` on embedded stores opened on the cluster's own SQLite files.
 *
 * `node --import tsx e2e-baseline.ts <cluster-config.json>`; prints its URL once listening.
 * `GET /stats` reports how many leaf calls the coordinator has made.
 */
import { loadClusterConfig } from "@geomesh/config";
import { Coordinator, executeLeaf } from "@geomesh/coordinator";
import { buildRegionMap } from "@geomesh/geo";
import { EmbeddedGeoStore, sqlitePathOf } from "@geomesh/store-embedded";
import Fastify from "fastify";

const configPath = process.argv[2];
if (configPath === undefined) throw new Error("usage: e2e-baseline.ts <cluster-config.json>");
const { config } = loadClusterConfig({ path: configPath });
const map = buildRegionMap(config.regions.map((r) => ({ name: r.name, polygon: r.polygon })));

// The same store class and defaults a worker opens for `sqlite:` URIs.
const stores = new Map<string, EmbeddedGeoStore>();
for (const region of config.regions) {
  const store = new EmbeddedGeoStore({ region: region.name, path: sqlitePathOf(region.store) });
  await store.init();
  stores.set(region.name, store);
}
// Leaf calls per query, for the report: in the cluster each one is a broker round trip.
let leafCalls = 0;
const coordinator = new Coordinator(map, (region, request) => {
  leafCalls += 1;
  return executeLeaf(stores.get(region)!, region, map, request);
});

const app = Fastify();
app.get("/near", async (request) => {
  const q = request.query as Record<string, string | undefined>;
  return coordinator.execute("geo.near", {
    point: [Number(q.lng), Number(q.lat)],
    limit: Number(q.limit ?? "10"),
  });
});
app.get("/stats", () => ({ leafCalls }));
const address = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`${address}\n`);

process.on("SIGTERM", () => {
  void (async () => {
    await app.close();
    for (const store of stores.values()) await store.close();
    process.exit(0);
  })();
});
