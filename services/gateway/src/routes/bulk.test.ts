import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppFixture, appFixture, place } from "../testing/app-fixture.js";
import { BULK_ERRORS_LISTED } from "./bulk.js";

let fx: AppFixture;
beforeAll(async () => {
  fx = await appFixture();
});
afterAll(() => fx.close());

const ndjson = (lines: unknown[]) =>
  lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n");

const bulk = (payload: string, contentType = "application/x-ndjson") =>
  fx.app.inject({
    method: "POST",
    url: "/v1/places/bulk",
    headers: { "content-type": contentType },
    payload,
  });

describe("POST /v1/places/bulk", () => {
  it("writes every good line to its owning region and reports created and updated", async () => {
    const res = await bulk(
      ndjson([
        place("b-nyc", -74, 40.7),
        "",
        place("b-chi", -87.63, 41.88),
        place("b-la", -118.24, 34.05),
      ]),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 3, rejected: 0, created: 3, updated: 0, errors: [] });
    for (const [id, region] of [
      ["b-nyc", "NE"],
      ["b-chi", "MW"],
      ["b-la", "CA"],
    ] as const) {
      const got = await fx.app.inject({ url: `/v1/places/${id}` });
      expect(got.json<{ properties: { region: string } }>().properties.region).toBe(region);
    }
    const again = await bulk(ndjson([place("b-nyc", -74.01, 40.71)]));
    expect(again.json()).toMatchObject({ accepted: 1, created: 0, updated: 1 });
  });

  it("rejects bad lines one by one with their line numbers and still writes the good ones", async () => {
    const res = await bulk(
      ndjson([
        place("ok-1", -74, 40.7),
        "{not json",
        { ...place("bad-geo", 200, 40), id: "bad-geo" },
        place("sea", -40, 30),
        { ...place("inj", -74, 40.7), $where: "1" },
        place("ok-1", -74.1, 40.7),
        place("ok-2", -97.74, 30.27),
      ]),
    );
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      accepted: number;
      rejected: number;
      errors: { line: number; code: string }[];
    }>();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toBe(5);
    expect(body.errors.map((e) => [e.line, e.code])).toEqual([
      [2, "BAD_REQUEST"],
      [3, "GEO_INVALID_GEOMETRY"],
      [4, "GEO_OUT_OF_REGION"],
      [5, "VALIDATION_FAILED"],
      [6, "VALIDATION_FAILED"],
    ]);
    expect((await fx.app.inject({ url: "/v1/places/ok-2" })).statusCode).toBe(200);
    for (const id of ["bad-geo", "sea", "inj"])
      expect((await fx.app.inject({ url: `/v1/places/${id}` })).statusCode).toBe(404);
  });

  it("answers 400 and writes nothing when no line is acceptable", async () => {
    for (const payload of ["", "\n\n", "[1,2]\n{}", ndjson([place("zz", 500, 0)])]) {
      const res = await bulk(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({ status: 400, error: { code: "VALIDATION_FAILED" } });
    }
    expect((await fx.app.inject({ url: "/v1/places/zz" })).statusCode).toBe(404);
  });

  it("lists at most the first rejected lines but counts them all", async () => {
    const lines = Array.from({ length: BULK_ERRORS_LISTED + 20 }, () => "nope");
    lines.push(JSON.stringify(place("last", -74, 40.7)));
    const body = (await bulk(lines.join("\n"))).json<{ rejected: number; errors: unknown[] }>();
    expect(body.rejected).toBe(BULK_ERRORS_LISTED + 20);
    expect(body.errors).toHaveLength(BULK_ERRORS_LISTED);
  });

  it("writes batches larger than one upsert batch (more than 1000 lines)", async () => {
    const lines = Array.from({ length: 2500 }, (_, i) =>
      JSON.stringify(place(`many-${i}`, -100 + (i % 50) * 0.1, 35 + Math.floor(i / 50) * 0.05)),
    );
    const res = await bulk(lines.join("\n"));
    expect(res.json()).toMatchObject({ accepted: 2500, rejected: 0, created: 2500 });
    const count = await fx.coordinator.execute("geo.count", {
      within: {
        box: [
          [-100.01, 34.99],
          [-94.99, 37.51],
        ],
      },
    });
    expect(count).toEqual({ count: 2500 });
  });

  it("refuses JSON and unknown content types with a clear 4xx", async () => {
    const json = await bulk(JSON.stringify(place("j", -74, 40.7)), "application/json");
    expect(json.statusCode).toBe(400);
    expect(json.json<{ error: { message: string } }>().error.message).toMatch(/ndjson/);
    const xml = await bulk("<places/>", "application/xml");
    expect(xml.statusCode).toBe(400);
    expect(xml.json()).toMatchObject({ error: { code: "BAD_REQUEST" } });
  });
});
