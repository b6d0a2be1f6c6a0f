import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppFixture, appFixture, place } from "./testing/app-fixture.js";

let fixture: AppFixture;
let app: FastifyInstance;

beforeAll(async () => {
  fixture = await appFixture();
  app = fixture.app;
  await fixture.coordinator.execute("place.upsert", {
    places: [
      place("nyc", -74.006, 40.7128),
      place("jc", -74.07, 40.72, "park"),
      place("phl", -75.16, 39.95),
      place("wv", -80.7, 39.6),
    ],
  });
});

afterAll(() => fixture.close());

describe("gateway HTTP API", () => {
  it("answers GET /v1/places/near with a GeoJSON FeatureCollection, nearest first, with distance and region", async () => {
    const res = await app.inject({
      method: "GET",
      url: "/v1/places/near?lng=-74.0&lat=40.71&limit=2",
    });
    expect(res.statusCode).toBe(200);
    const fc = res.json<{
      type: string;
      features: { id: string; properties: { distance: number; region: string } }[];
    }>();
    expect(fc.type).toBe("FeatureCollection");
    expect(fc.features.map((f) => f.id)).toEqual(["nyc", "jc"]);
    expect(fc.features[0]!.properties.region).toBe("NE");
    expect(fc.features[0]!.properties.distance).toBeGreaterThan(0);
  });

  it("filters near by category and pages with the cursor", async () => {
    const parks = await app.inject({ url: "/v1/places/near?lng=-74&lat=40.7&category=park" });
    expect(parks.json<{ features: { id: string }[] }>().features.map((f) => f.id)).toEqual(["jc"]);
    const first = await app.inject({ url: "/v1/places/near?lng=-74&lat=40.7&limit=2" });
    const next = first.json<{ next: string }>().next;
    const second = await app.inject({
      url: `/v1/places/near?lng=-74&lat=40.7&limit=2&cursor=${encodeURIComponent(next)}`,
    });
    expect(second.json<{ features: { id: string }[] }>().features.map((f) => f.id)).toEqual([
      "phl",
      "wv",
    ]);
  });

  it("searches within a circle spanning regions via POST /v1/places/search", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/places/search",
      payload: { within: { circle: { center: [-77, 40], radius: 400_000 } }, limit: 10 },
    });
    expect(res.statusCode).toBe(200);
    expect(
      res
        .json<{ features: { id: string; properties: { region: string } }[] }>()
        .features.map((f) => `${f.id}/${f.properties.region}`),
    ).toEqual(["jc/NE", "nyc/NE", "phl/NE", "wv/South"]);
  });

  it("puts, gets and deletes a place by id", async () => {
    const put = await app.inject({
      method: "PUT",
      url: "/v1/places/new1",
      payload: {
        name: "New",
        category: "shop",
        location: { type: "Point", coordinates: [-87.63, 41.88] },
        tags: [],
        properties: {},
      },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ id: "new1", status: "created", region: "MW" });
    const got = await app.inject({ url: "/v1/places/new1" });
    expect(got.json()).toMatchObject({
      type: "Feature",
      id: "new1",
      properties: { region: "MW", name: "New" },
    });
    expect((await app.inject({ method: "DELETE", url: "/v1/places/new1" })).json()).toMatchObject({
      deleted: true,
      region: "MW",
    });
    const gone = await app.inject({ url: "/v1/places/new1" });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ status: 404, error: { code: "NOT_FOUND" } });
  });

  it("answers hostile or wrong input with a clear 4xx body and writes nothing", async () => {
    const cases: {
      method: "GET" | "POST" | "PUT";
      url: string;
      payload?: unknown;
      headers?: Record<string, string>;
      code: string;
      status: number;
    }[] = [
      {
        method: "GET",
        url: "/v1/places/near?lng=abc&lat=1",
        code: "VALIDATION_FAILED",
        status: 400,
      },
      { method: "GET", url: "/v1/places/near?lat=1", code: "VALIDATION_FAILED", status: 400 },
      {
        method: "GET",
        url: "/v1/places/near?lng=200&lat=1",
        code: "GEO_INVALID_GEOMETRY",
        status: 400,
      },
      {
        method: "GET",
        url: "/v1/places/near?lng=1&lat=1&$where=1",
        code: "VALIDATION_FAILED",
        status: 400,
      },
      {
        method: "GET",
        url: "/v1/places/near?lng=-74&lat=40&limit=100000",
        code: "LIMIT_EXCEEDED",
        status: 400,
      },
      {
        method: "GET",
        url: "/v1/places/near?lng=-74&lat=40&maxDistance=99999999",
        code: "LIMIT_EXCEEDED",
        status: 400,
      },
      {
        method: "POST",
        url: "/v1/places/search",
        payload: "{not json",
        headers: { "content-type": "application/json" },
        code: "BAD_REQUEST",
        status: 400,
      },
      {
        method: "POST",
        url: "/v1/places/search",
        payload: { near: { point: [0, 0] }, extra: 1 },
        code: "VALIDATION_FAILED",
        status: 400,
      },
      {
        method: "POST",
        url: "/v1/places/search",
        payload: {
          within: {
            geometry: {
              type: "Polygon",
              coordinates: [
                [
                  [0, 0],
                  [1, 1],
                  [1, 0],
                  [0, 1],
                  [0, 0],
                ],
              ],
            },
          },
        },
        code: "GEO_INVALID_GEOMETRY",
        status: 400,
      },
      {
        method: "POST",
        url: "/v1/places/search",
        payload: JSON.stringify({ __proto__: { x: 1 }, near: { point: [0, 0] } }).replace(
          '"near"',
          '"__proto__":{"a":1},"near"',
        ),
        headers: { "content-type": "application/json" },
        code: "VALIDATION_FAILED",
        status: 400,
      },
      {
        method: "POST",
        url: "/v1/places/search",
        payload: "x".repeat(1024 * 1024 + 10),
        headers: { "content-type": "application/json" },
        code: "LIMIT_EXCEEDED",
        status: 400,
      },
      {
        method: "PUT",
        url: "/v1/places/sea1",
        payload: {
          name: "Sea",
          category: "x",
          location: { type: "Point", coordinates: [-40, 30] },
        },
        code: "GEO_OUT_OF_REGION",
        status: 422,
      },
      {
        method: "PUT",
        url: "/v1/places/a1",
        payload: {
          id: "other",
          name: "x",
          category: "x",
          location: { type: "Point", coordinates: [-74, 40.7] },
        },
        code: "VALIDATION_FAILED",
        status: 400,
      },
      { method: "GET", url: "/v1/nowhere", code: "NOT_FOUND", status: 404 },
      { method: "GET", url: `/v1/places/${"q".repeat(128)}`, code: "NOT_FOUND", status: 404 },
      { method: "GET", url: `/v1/places/${"q".repeat(600)}`, code: "LIMIT_EXCEEDED", status: 400 },
      { method: "GET", url: "/v1/places/%ZZ", code: "BAD_REQUEST", status: 400 },
      { method: "GET", url: "/v1/places/%C3%28", code: "BAD_REQUEST", status: 400 },
    ];
    for (const c of cases) {
      const res = await app.inject({
        method: c.method,
        url: c.url,
        ...(c.payload === undefined ? {} : { payload: c.payload as string }),
        ...(c.headers ? { headers: c.headers } : {}),
      });
      expect(res.statusCode, c.url + JSON.stringify(c.payload ?? "").slice(0, 80)).toBe(c.status);
      expect(res.json(), c.url + " " + res.body.slice(0, 200)).toMatchObject({
        status: c.status,
        error: { code: c.code },
      });
      expect(res.json<{ error: { message: string } }>().error.message.length).toBeGreaterThan(5);
    }
    expect((await app.inject({ url: "/v1/places/sea1" })).statusCode).toBe(404);
    expect((await app.inject({ url: "/v1/places/other" })).statusCode).toBe(404);
  });

  it("serves region polygons, health, readiness and the OpenAPI UI", async () => {
    const regions = await app.inject({ url: "/v1/regions" });
    expect(regions.json<{ features: { id: string }[] }>().features.map((f) => f.id)).toEqual([
      "NE",
      "South",
      "MW",
      "SW",
      "CA",
    ]);
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
    const docs = await app.inject({ url: "/docs/json" });
    expect(Object.keys(docs.json<{ paths: Record<string, unknown> }>().paths)).toEqual(
      expect.arrayContaining([
        "/v1/places/near",
        "/v1/places/search",
        "/v1/places/{id}",
        "/v1/places/bulk",
        "/v1/regions",
        "/v1/cluster",
      ]),
    );
    const spec = docs.json<{
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { name: string; in: string }[];
            requestBody?: { content: Record<string, unknown> };
            responses: Record<string, unknown>;
          }
        >
      >;
    }>();
    const near = spec.paths["/v1/places/near"]!.get!;
    expect(near.parameters!.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        "lng",
        "lat",
        "limit",
        "maxDistance",
        "minDistance",
        "category",
        "cursor",
      ]),
    );
    expect(Object.keys(near.responses)).toEqual(expect.arrayContaining(["200", "400", "429"]));
    expect(Object.keys(spec.paths["/v1/places/bulk"]!.post!.requestBody!.content)).toEqual([
      "application/x-ndjson",
    ]);
    expect(spec.paths["/v1/places/search"]!.post!.requestBody).toBeDefined();
    expect((await app.inject({ url: "/docs" })).statusCode).toBeLessThan(400);
  });
});
