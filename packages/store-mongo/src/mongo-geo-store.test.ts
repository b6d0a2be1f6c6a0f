import { createStore } from "@geomesh/store";
import { place } from "@geomesh/store/testing";
import { describe, expect, it } from "vitest";
import { collectionForRegion, databaseOfUri, MongoGeoStore } from "./index.js";

describe("MongoGeoStore without a server", () => {
  it("is created from mongodb:// and mongodb+srv:// URIs through the store registry", () => {
    expect(createStore("mongodb://localhost:27017/geo", { region: "NE" })).toBeInstanceOf(
      MongoGeoStore,
    );
    expect(createStore("mongodb+srv://cluster.example.net/geo", { region: "NE" })).toBeInstanceOf(
      MongoGeoStore,
    );
  });

  it("names its database from the URI and its collection from the region", () => {
    expect(databaseOfUri("mongodb://u:p@h1:1,h2:2/geo_ne?replicaSet=rs")).toBe("geo_ne");
    expect(databaseOfUri("mongodb://h:27017/?directConnection=true")).toBeUndefined();
    expect(databaseOfUri("mongodb://h:27017")).toBeUndefined();
    expect(collectionForRegion("NE")).toBe("places_ne");
    expect(collectionForRegion("South West")).toBe("places_south_west");
  });

  it("fails init with STORE_UNAVAILABLE, not echoing the URI, when no server answers", async () => {
    const store = new MongoGeoStore({
      uri: "mongodb://alice:s3cret@127.0.0.1:9/geo",
      region: "NE",
      serverSelectionTimeoutMs: 300,
    });
    const error = (await store.init().catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe("STORE_UNAVAILABLE");
    expect(
      JSON.stringify({ message: error.message, data: (error as { data?: unknown }).data }),
    ).not.toMatch(/s3cret|alice|127\.0\.0\.1/);
    await store.close();
    await store.close();
  });

  it("fails init with CONFIG_INVALID for a malformed connection string, not echoing it", async () => {
    const store = new MongoGeoStore({ uri: "mongodb://bob:pw@host:notaport/db", region: "NE" });
    const error = (await store.init().catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).not.toMatch(/bob|pw@/);
  });

  it("rejects queries before init and writes with invalid places before touching the server", async () => {
    const store = new MongoGeoStore({ uri: "mongodb://127.0.0.1:9", region: "NE" });
    await expect(store.near({ point: [0, 0], limit: 1 })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
    const bad = place("b", [0, 0]);
    (bad.location.coordinates as number[])[1] = 91;
    await expect(store.upsert([bad])).rejects.toMatchObject({ code: "GEO_INVALID_GEOMETRY" });
  });
});
