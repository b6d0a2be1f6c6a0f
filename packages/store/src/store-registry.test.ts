import { describe, expect, it } from "vitest";
import type { GeoStore } from "./geo-store.js";
import { StoreRegistry, storeUriScheme, type StoreAdapter } from "./store-registry.js";
import { MemoryGeoStore } from "./testing/memory-geo-store.js";

const memory: StoreAdapter = { schemes: ["memory"], create: (): GeoStore => new MemoryGeoStore() };

describe("store registry", () => {
  it("reads the scheme of sqlite: and mongodb URIs", () => {
    expect(storeUriScheme("sqlite:data/ne.sqlite")).toBe("sqlite");
    expect(storeUriScheme("MongoDB+SRV://h/db")).toBe("mongodb+srv");
    expect(storeUriScheme("/just/a/path")).toBeUndefined();
  });

  it("opens a store with the adapter registered for the URI's scheme", () => {
    const registry = new StoreRegistry([memory]);
    expect(registry.create("memory:x", { region: "NE" })).toBeInstanceOf(MemoryGeoStore);
    expect(registry.supports("memory:y")).toBe(true);
    expect(registry.schemes()).toEqual(["memory"]);
  });

  it("refuses an unknown scheme with CONFIG_INVALID naming the scheme, never the URI", () => {
    const registry = new StoreRegistry([memory]);
    let error: unknown;
    try {
      registry.create("mongodb://user:secret@host/db", { region: "NE" });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "CONFIG_INVALID" });
    expect((error as Error).message).toContain('"mongodb"');
    expect((error as Error).message).not.toContain("secret");
  });

  it("accepts the same adapter twice but not a second adapter for a taken scheme", () => {
    const registry = new StoreRegistry([memory]);
    expect(() => registry.register(memory)).not.toThrow();
    expect(() => registry.register({ ...memory })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });
});
