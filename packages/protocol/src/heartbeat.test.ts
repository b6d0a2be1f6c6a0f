import { describe, expect, it } from "vitest";
import { baseService, isIdempotentService } from "./heartbeat.js";

describe("service idempotency defaults", () => {
  it("treats writes as non-idempotent, also as a region's leaf, and reads as idempotent", () => {
    expect(isIdempotentService("place.upsert")).toBe(false);
    expect(isIdempotentService("place.upsert@NE")).toBe(false);
    expect(isIdempotentService("PLACE.DELETE@south")).toBe(false);
    expect(isIdempotentService("geo.near@ne")).toBe(true);
    expect(isIdempotentService("place.get")).toBe(true);
    expect(baseService("geo.near@SW")).toBe("geo.near");
    expect(baseService("sys.echo")).toBe("sys.echo");
  });
});
