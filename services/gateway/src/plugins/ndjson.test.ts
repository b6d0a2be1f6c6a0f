import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppFixture, appFixture, place } from "../testing/app-fixture.js";
import { NDJSON } from "./ndjson.js";

let fx: AppFixture;
const N = 2345;

beforeAll(async () => {
  fx = await appFixture();
  // A grid straddling the NE/South border (PA/MD) and the NE/MW border (PA/OH).
  const places = Array.from({ length: N }, (_, i) =>
    place(
      `g${String(i).padStart(5, "0")}`,
      -80.9 + (i % 50) * 0.06,
      39.3 + Math.floor(i / 50) * 0.02,
    ),
  );
  for (let i = 0; i < places.length; i += 1000)
    await fx.coordinator.execute("place.upsert", { places: places.slice(i, i + 1000) });
});
afterAll(() => fx.close());

const lines = (body: string) =>
  body
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("NDJSON results", () => {
  it("streams a whole within result across regions, one Feature per line, then an End line", async () => {
    const res = await fx.app.inject({
      method: "POST",
      url: "/v1/places/search",
      headers: { accept: NDJSON },
      payload: {
        within: {
          box: [
            [-81, 39],
            [-77, 40.5],
          ],
        },
        limit: 500,
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/x-ndjson/);
    const out = lines(res.body);
    const end = out.pop();
    expect(end).toEqual({ type: "End", count: N });
    const ids = out.map((f) => f.id as string);
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    expect(ids).toEqual([...ids].sort());
    const regions = new Set(out.map((f) => (f.properties as { region: string }).region));
    expect([...regions].sort()).toEqual(["MW", "NE", "South"]);
  });

  it("streams near results nearest first, equal to paging with cursors by hand", async () => {
    const streamed = lines(
      (
        await fx.app.inject({
          url: "/v1/places/near?lng=-79.5&lat=39.72&maxDistance=60000",
          headers: { accept: NDJSON },
        })
      ).body,
    );
    const end = streamed.pop() as { count: number };
    const paged: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = (
        await fx.app.inject({
          url: `/v1/places/near?lng=-79.5&lat=39.72&maxDistance=60000&limit=333${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        })
      ).json<{ features: unknown[]; next?: string }>();
      paged.push(...page.features);
      cursor = page.next;
    } while (cursor);
    expect(end.count).toBe(paged.length);
    expect(streamed).toEqual(paged);
    const d = streamed.map((f) => (f.properties as { distance: number }).distance);
    expect(d).toEqual([...d].sort((a, b) => a - b));
  });

  it("still answers a bad streamed query with its 4xx status and error body", async () => {
    const res = await fx.app.inject({
      method: "POST",
      url: "/v1/places/search",
      headers: { accept: NDJSON },
      payload: {
        within: {
          box: [
            [-81, 39],
            [-77, 95],
          ],
        },
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ status: 400, error: { code: "GEO_INVALID_GEOMETRY" } });
  });

  it("answers from the regions that do when one is down, and says which in the page and End line", async () => {
    fx.down.add("South");
    try {
      const search = {
        within: {
          box: [
            [-81, 39],
            [-77, 40.5],
          ],
        },
        limit: 500,
      };
      const page = await fx.app.inject({
        method: "POST",
        url: "/v1/places/search",
        payload: search,
      });
      expect(page.statusCode).toBe(200);
      const fc = JSON.parse(page.body) as {
        features: { properties: { region: string } }[];
        partial?: boolean;
        unavailable?: string[];
      };
      expect(fc).toMatchObject({ partial: true, unavailable: ["South"] });
      expect(fc.features.some((f) => f.properties.region === "South")).toBe(false);
      const streamed = lines(
        (
          await fx.app.inject({
            method: "POST",
            url: "/v1/places/search",
            headers: { accept: NDJSON },
            payload: search,
          })
        ).body,
      );
      const end = streamed.pop()!;
      expect(end).toMatchObject({ type: "End", partial: true, unavailable: ["South"] });
      const regions = new Set(streamed.map((f) => (f.properties as { region: string }).region));
      expect([...regions].sort()).toEqual(["MW", "NE"]);
      expect(end.count).toBe(streamed.length);
      // A get it cannot decide is a 503 naming the region, not a 404.
      const get = await fx.app.inject({ method: "GET", url: "/v1/places/nowhere" });
      expect(get.statusCode).toBe(503);
      expect(JSON.parse(get.body)).toMatchObject({ error: { code: "REGION_UNAVAILABLE" } });
    } finally {
      fx.down.delete("South");
    }
  });
});
