import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppFixture, appFixture, place } from "../testing/app-fixture.js";

let fx: AppFixture;
beforeAll(async () => {
  fx = await appFixture();
  await fx.coordinator.execute("place.upsert", place("m1", -74, 40.7));
});
afterAll(() => fx.close());

/** The value of one sample line of a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inside = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
    const have = inside.split(",");
    if (want.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("GET /metrics", () => {
  it("exposes request latency per route pattern and status, not per URL", async () => {
    for (let i = 0; i < 3; i++) await fx.app.inject({ url: "/v1/places/near?lng=-74&lat=40.7" });
    await fx.app.inject({ url: "/v1/places/m1" });
    await fx.app.inject({ url: "/v1/places/near?lng=x&lat=1" });
    const res = await fx.app.inject({ url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/text\/plain/);
    const text = res.body;
    expect(text).toContain("# TYPE geomesh_http_request_duration_seconds histogram");
    expect(
      sample(text, "geomesh_http_request_duration_seconds_count", {
        route: "/v1/places/near",
        status_code: "200",
      }),
    ).toBe(3);
    expect(
      sample(text, "geomesh_http_request_duration_seconds_count", {
        route: "/v1/places/near",
        status_code: "400",
      }),
    ).toBe(1);
    expect(
      sample(text, "geomesh_http_request_duration_seconds_count", { route: "/v1/places/:id" }),
    ).toBe(1);
    expect(text).not.toContain('route="/v1/places/m1"');
  });

  it("exposes each broker's reachability, queue depth, capacity and overflow counters by region", async () => {
    const text = (await fx.app.inject({ url: "/metrics" })).body;
    expect(sample(text, "geomesh_broker_up", { region: "NE" })).toBe(1);
    expect(sample(text, "geomesh_broker_up", { region: "South" })).toBe(0);
    expect(sample(text, "geomesh_broker_queue_depth", { region: "NE" })).toBe(3);
    expect(sample(text, "geomesh_broker_free_capacity", { region: "NE" })).toBe(8);
    expect(sample(text, "geomesh_broker_workers", { region: "NE" })).toBe(2);
    expect(sample(text, "geomesh_broker_pending_requests", { region: "NE" })).toBe(5);
    expect(sample(text, "geomesh_broker_overflow_out_total", { region: "NE" })).toBe(4);
    expect(sample(text, "geomesh_broker_overflow_in_total", { region: "NE" })).toBe(1);
    expect(sample(text, "geomesh_broker_queue_depth", { region: "South" })).toBeUndefined();
    expect(text).toContain("# TYPE geomesh_region_requests_total counter");
    expect(text).toContain("geomesh_gateway_process_cpu_seconds_total");
  });

  it("records per-region leaf requests with their outcome", async () => {
    const { GatewayMetrics } = await import("../gateway-metrics.js");
    const m = new GatewayMetrics(() => Promise.resolve({}), { defaultMetrics: false });
    m.observeLeaf("NE", "geo.near", "ok", 0.002);
    m.observeLeaf("NE", "geo.near", "ok", 0.004);
    m.observeLeaf("MW", "geo.near", "TIMEOUT", 10);
    const text = await m.registry.metrics();
    expect(sample(text, "geomesh_region_requests_total", { region: "NE", outcome: "ok" })).toBe(2);
    expect(
      sample(text, "geomesh_region_requests_total", { region: "MW", outcome: "TIMEOUT" }),
    ).toBe(1);
    expect(sample(text, "geomesh_region_request_duration_seconds_count", { region: "NE" })).toBe(2);
  });

  it("exposes the live hub's sockets, subscriptions, deliveries, drops and gaps", async () => {
    const { GatewayMetrics } = await import("../gateway-metrics.js");
    const m = new GatewayMetrics(() => Promise.resolve({}), {
      defaultMetrics: false,
      live: () => ({
        sockets: 3,
        subscriptions: 42,
        events: 10,
        delivered: 99,
        dropped: 2,
        gaps: 1,
      }),
    });
    const text = await m.registry.metrics();
    expect(sample(text, "geomesh_live_sockets", {})).toBe(3);
    expect(sample(text, "geomesh_live_subscriptions", {})).toBe(42);
    expect(sample(text, "geomesh_live_delivered_total", {})).toBe(99);
    expect(sample(text, "geomesh_live_dropped_total", {})).toBe(2);
    expect(sample(text, "geomesh_live_gaps_total", {})).toBe(1);
  });
});
