import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppFixture, appFixture } from "../testing/app-fixture.js";

let fx: AppFixture;
beforeAll(async () => {
  fx = await appFixture({ rateLimit: { max: 5, windowMs: 60_000 } });
});
afterAll(() => fx.close());

describe("rate limiting", () => {
  it("answers 429 RATE_LIMITED with Retry-After past the per-address limit", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await fx.app.inject({ url: "/v1/places/near?lng=-74&lat=40.7" })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const res = await fx.app.inject({ url: "/v1/places/near?lng=-74&lat=40.7" });
    expect(res.json()).toMatchObject({
      status: 429,
      error: { code: "RATE_LIMITED", retryable: true },
    });
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("counts each client address on its own", async () => {
    const other = await fx.app.inject({
      url: "/v1/places/near?lng=-74&lat=40.7",
      remoteAddress: "127.0.0.9",
    });
    expect(other.statusCode).toBe(200);
  });

  it("never limits health, readiness and metrics", async () => {
    for (let i = 0; i < 10; i++) {
      expect((await fx.app.inject({ url: "/healthz" })).statusCode).toBe(200);
      expect((await fx.app.inject({ url: "/readyz" })).statusCode).toBe(200);
      expect((await fx.app.inject({ url: "/metrics" })).statusCode).toBe(200);
    }
  });
});
