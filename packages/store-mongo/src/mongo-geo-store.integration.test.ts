import { describeGeoStoreConformance, place } from "@geomesh/store/testing";
import { expect, it } from "vitest";
import { MongoGeoStore } from "./mongo-geo-store.js";
import { describeWithMongo, detectMongo } from "./testing/index.js";

// MONGODB_URI, else a testcontainers MongoDB, else reported as skipped (REQUIRE_INTEGRATION=1 fails).
const mongo = await detectMongo();

describeWithMongo("MongoGeoStore", mongo, (ctx) => {
  let n = 0;
  const open = (): MongoGeoStore =>
    new MongoGeoStore({
      uri: ctx.uri(),
      database: ctx.database,
      collection: `places_${++n}`,
      region: "TEST",
      operationTimeoutMs: 30_000,
    });

  describeGeoStoreConformance("MongoDB", () => Promise.resolve(open()), {
    timeoutMs: 60_000,
    dispose: async (store) => {
      await ctx
        .client()
        .db(ctx.database)
        .collection((store as MongoGeoStore).collectionName)
        .drop()
        .catch(() => undefined);
    },
  });

  it("creates the 2dsphere, category and updatedAt indexes at init", async () => {
    const store = open();
    await store.init();
    const names = (
      await ctx.client().db(ctx.database).collection(store.collectionName).indexes()
    ).map((i) => i.name);
    expect(names).toEqual(
      expect.arrayContaining(["_id_", "location_2dsphere", "category_id", "updatedAt"]),
    );
    await store.close();
  });

  it("answers near hits with the same distances as the embedded formula", async () => {
    const store = open();
    await store.init();
    await store.upsert([place("a", [0, 1])]);
    const page = await store.near({ point: [0, 0], limit: 1 });
    expect(page.hits[0]?.distance).toBeCloseTo(111318.84502145034, 6);
    await store.close();
  });
});
