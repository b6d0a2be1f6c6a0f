import { GeomeshError } from "@geomesh/errors";
import { describe, expect, it } from "vitest";
import { encodeIdCursor, encodeNearCursor } from "./cursor.js";
import type { ServiceRequest } from "./model.js";
import {
  canonicalIso,
  parseAggregateBody,
  parseCountBody,
  parseIdBody,
  parseIntersectsBody,
  parseNearBody,
  parsePlace,
  parseSearchBody,
  parseServiceBody,
  parseUpsertBody,
  parseWithinBody,
  serviceBodyOf,
} from "./schemas.js";

function failure(fn: () => unknown): GeomeshError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GeomeshError) return error;
    throw error;
  }
  throw new Error("body was accepted");
}

const place = {
  id: "cafe:1",
  name: "Blue Bottle",
  category: "cafe",
  location: { type: "Point", coordinates: [-74, 40.7] },
  tags: ["wifi"],
  properties: { rating: 4.5, hours: { mon: "8-18" } },
};

describe("parseNearBody", () => {
  it("parses the DESIGN example and applies the default limit", () => {
    expect(
      parseNearBody({
        point: [-74, 40.7],
        minDistance: 0,
        maxDistance: 5000,
        filter: { category: "cafe" },
      }),
    ).toEqual({
      point: [-74, 40.7],
      limit: 10,
      minDistance: 0,
      maxDistance: 5000,
      filter: { category: "cafe" },
    });
  });

  it("decodes a near cursor", () => {
    const cursor = encodeNearCursor({ distance: 12.5, id: "a" });
    expect(parseNearBody({ point: [0, 0], cursor }).cursor).toEqual({ distance: 12.5, id: "a" });
  });

  it("enforces limit 1..1000 and maxDistance ≤ 1 000 km with LIMIT_EXCEEDED past the maximum", () => {
    expect(failure(() => parseNearBody({ point: [0, 0], limit: 1001 }))).toMatchObject({
      code: "LIMIT_EXCEEDED",
      message: "limit: must be ≤ 1000, got 1001",
      data: { field: "limit" },
    });
    expect(failure(() => parseNearBody({ point: [0, 0], limit: 0 })).message).toBe(
      "limit: must be ≥ 1",
    );
    expect(failure(() => parseNearBody({ point: [0, 0], limit: 2.5 })).message).toBe(
      "limit: must be an integer",
    );
    expect(failure(() => parseNearBody({ point: [0, 0], maxDistance: 1_000_001 }))).toMatchObject({
      code: "LIMIT_EXCEEDED",
      message: "maxDistance: must be ≤ 1000000 metres, got 1000001",
    });
    expect(
      failure(() => parseNearBody({ point: [0, 0], minDistance: 10, maxDistance: 5 })).message,
    ).toBe("minDistance: must be ≤ maxDistance (10 > 5)");
  });

  it("rejects out-of-range and malformed points as invalid geometry", () => {
    expect(failure(() => parseNearBody({ point: [181, 0] }))).toMatchObject({
      code: "GEO_INVALID_GEOMETRY",
      message: "point: longitude 181 is out of range [-180, 180]",
    });
    expect(failure(() => parseNearBody({ point: [1, 2, 3] })).message).toBe(
      "point: a position must have exactly 2 numbers [lng, lat], got 3",
    );
    expect(failure(() => parseNearBody({})).message).toBe("point: is required");
  });
});

describe("hostile bodies", () => {
  it("rejects $-prefixed keys anywhere", () => {
    expect(failure(() => parseNearBody({ point: [0, 0], $where: "sleep(1000)" }))).toMatchObject({
      code: "VALIDATION_FAILED",
      message: `["$where"]: keys starting with '$' are not allowed`,
    });
    expect(
      failure(() => parseNearBody({ point: [0, 0], filter: { category: { $ne: "x" } } })).message,
    ).toBe(`filter.category["$ne"]: keys starting with '$' are not allowed`);
    expect(failure(() => parsePlace({ ...place, properties: { a: [{ $set: 1 }] } })).message).toBe(
      `properties.a[0]["$set"]: keys starting with '$' are not allowed`,
    );
  });

  it("rejects __proto__, constructor and prototype keys, including inside properties", () => {
    const body: unknown = JSON.parse(
      `{"id":"a","name":"n","category":"c","location":{"type":"Point","coordinates":[0,0]},"properties":{"__proto__":{"admin":true}}}`,
    );
    expect(failure(() => parsePlace(body)).message).toBe(
      `properties.__proto__: the key "__proto__" is not allowed`,
    );
    expect(
      failure(() => parsePlace({ ...place, properties: { constructor: { prototype: 1 } } }))
        .message,
    ).toBe(`properties.constructor: the key "constructor" is not allowed`);
    expect(({} as Record<string, unknown>)["admin"]).toBeUndefined();
  });

  it("rejects NaN and Infinity", () => {
    expect(failure(() => parseNearBody({ point: [Number.NaN, 0] })).message).toBe(
      "point[0]: must be a finite number",
    );
    expect(failure(() => parseNearBody({ point: [0, 0], maxDistance: Infinity })).message).toBe(
      "maxDistance: must be a finite number",
    );
  });

  it("rejects unknown fields instead of stripping them", () => {
    expect(failure(() => parseNearBody({ point: [0, 0], sort: { name: 1 } }))).toMatchObject({
      code: "VALIDATION_FAILED",
      message: "sort: unknown field",
    });
    expect(failure(() => parseNearBody({ point: [0, 0], filter: { raw: {} } })).message).toBe(
      "filter.raw: unknown field",
    );
    expect(failure(() => parsePlace({ ...place, owner: "x" })).message).toBe(
      "owner: unknown field",
    );
  });

  it("rejects deep nesting without overflowing the stack", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const e = failure(() => parsePlace({ ...place, properties: { deep } }));
    expect(e.code).toBe("LIMIT_EXCEEDED");
    expect(e.message).toMatch(/nested deeper than 32 levels$/);
  });

  it("rejects huge polygons with LIMIT_EXCEEDED", () => {
    const ring = Array.from({ length: 20_000 }, (_, i) => [Math.cos(i / 3000), Math.sin(i / 3000)]);
    expect(
      failure(() => parseWithinBody({ geometry: { type: "Polygon", coordinates: [ring] } })),
    ).toMatchObject({
      code: "LIMIT_EXCEEDED",
      message: "geometry.coordinates: has 20000 positions; at most 10000 are allowed",
    });
  });

  it("rejects bodies with an absurd number of values", () => {
    const e = failure(() =>
      parsePlace({ ...place, properties: { big: new Array<number>(600_000).fill(0) } }),
    );
    expect(e.code).toBe("LIMIT_EXCEEDED");
  });

  it("rejects non-JSON objects and non-object bodies", () => {
    expect(failure(() => parsePlace({ ...place, properties: { when: new Date(0) } })).message).toBe(
      "properties.when: must be a plain JSON object",
    );
    expect(failure(() => parseNearBody("point=1,2")).message).toBe("body: must be a JSON object");
    expect(failure(() => parseNearBody(null)).message).toBe("body: must be a JSON object");
  });

  it("rejects hostile cursors", () => {
    for (const cursor of [
      "",
      "!!!",
      "x".repeat(600),
      Buffer.from("not json").toString("base64url"),
      42,
    ]) {
      expect(failure(() => parseNearBody({ point: [0, 0], cursor })).code).toBe(
        "VALIDATION_FAILED",
      );
    }
    const extra = Buffer.from(JSON.stringify({ k: "n", d: 1, i: "a", $x: 1 })).toString(
      "base64url",
    );
    expect(failure(() => parseNearBody({ point: [0, 0], cursor: extra })).message).toBe(
      "cursor: is not a valid cursor for a near query",
    );
    const negative = Buffer.from(JSON.stringify({ k: "n", d: -1, i: "a" })).toString("base64url");
    expect(failure(() => parseNearBody({ point: [0, 0], cursor: negative })).code).toBe(
      "VALIDATION_FAILED",
    );
    expect(
      failure(() =>
        parseWithinBody({
          box: [
            [0, 0],
            [1, 1],
          ],
          cursor: encodeNearCursor({ distance: 1, id: "a" }),
        }),
      ).message,
    ).toBe("cursor: is not a valid cursor for a within/intersects query");
  });
});

describe("parseWithinBody", () => {
  it("accepts exactly one of geometry, box or circle", () => {
    expect(
      parseWithinBody({
        box: [
          [170, 0],
          [-170, 10],
        ],
        limit: 5,
      }).shape,
    ).toEqual({
      kind: "box",
      box: [
        [170, 0],
        [-170, 10],
      ],
    });
    expect(parseWithinBody({ circle: { center: [1, 2], radius: 500 } }).shape).toEqual({
      kind: "circle",
      center: [1, 2],
      radius: 500,
    });
    expect(failure(() => parseWithinBody({ limit: 5 })).message).toBe(
      "body: one of geometry, box or circle is required",
    );
    expect(
      failure(() =>
        parseWithinBody({
          box: [
            [0, 0],
            [1, 1],
          ],
          circle: { center: [0, 0], radius: 1 },
        }),
      ).message,
    ).toBe("body: only one of geometry, box or circle may be given, got box and circle");
  });

  it("rejects geometry types within cannot use and invalid boxes", () => {
    expect(
      failure(() => parseWithinBody({ geometry: { type: "Point", coordinates: [0, 0] } })),
    ).toMatchObject({
      code: "GEO_INVALID_GEOMETRY",
      message: "geometry.type: must be one of Polygon, MultiPolygon",
    });
    expect(
      failure(() =>
        parseWithinBody({
          box: [
            [0, 5],
            [1, 1],
          ],
        }),
      ).message,
    ).toBe(
      "box: south 5 is north of north 1 (west > east is allowed and crosses the antimeridian)",
    );
    expect(failure(() => parseWithinBody({ circle: { center: [0, 0], radius: 2e6 } })).code).toBe(
      "LIMIT_EXCEEDED",
    );
  });

  it("validates polygon geometry before accepting it", () => {
    expect(
      failure(() =>
        parseWithinBody({
          geometry: {
            type: "Polygon",
            coordinates: [
              [
                [1, 2],
                [5, 2],
                [5, 6],
                [3, 4],
              ],
            ],
          },
        }),
      ).message,
    ).toBe("geometry.coordinates[0]: ring is not closed (first [1,2] ≠ last [3,4])");
    expect(
      failure(() => parseWithinBody({ geometry: { type: "Polygon", coordinates: [[[0, "a"]]] } })),
    ).toMatchObject({
      code: "GEO_INVALID_GEOMETRY",
      message: "geometry.coordinates[0][0][1]: must be a number",
    });
  });
});

describe("other services", () => {
  it("parses intersects with any supported geometry and rejects GeometryCollection", () => {
    expect(
      parseIntersectsBody({
        geometry: {
          type: "LineString",
          coordinates: [
            [0, 0],
            [1, 1],
          ],
        },
      }).geometry.type,
    ).toBe("LineString");
    expect(
      failure(() =>
        parseIntersectsBody({ geometry: { type: "GeometryCollection", geometries: [] } }),
      ).message,
    ).toBe(
      "geometry.type: must be one of Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon",
    );
  });

  it("parses count selections and requires maxDistance for a near count", () => {
    expect(
      parseCountBody({ near: { point: [0, 0], maxDistance: 10 }, filter: { tags: ["a"] } }),
    ).toEqual({
      selection: { kind: "near", point: [0, 0], maxDistance: 10 },
      filter: { tags: ["a"] },
    });
    expect(failure(() => parseCountBody({ near: { point: [0, 0] } })).message).toBe(
      "near.maxDistance: is required",
    );
    expect(failure(() => parseCountBody({})).message).toBe(
      "body: one of near, within, intersects is required",
    );
  });

  it("parses aggregate grids up to 256×256", () => {
    expect(
      parseAggregateBody({
        box: [
          [0, 0],
          [1, 1],
        ],
        cells: [256, 2],
      }).cells,
    ).toEqual([256, 2]);
    expect(
      failure(() =>
        parseAggregateBody({
          box: [
            [0, 0],
            [1, 1],
          ],
          cells: [2, 257],
        }),
      ),
    ).toMatchObject({
      code: "LIMIT_EXCEEDED",
      message: "cells[1]: must be ≤ 256, got 257",
    });
  });

  it("parses single and batch upserts, defaulting tags and properties", () => {
    const { tags: _t, properties: _p, ...bare } = place;
    expect(parseUpsertBody(bare)).toEqual({
      places: [
        {
          ...bare,
          location: { type: "Point", coordinates: [-74, 40.7] },
          tags: [],
          properties: {},
        },
      ],
      batch: false,
    });
    expect(parseUpsertBody({ places: [place, { ...place, id: "cafe:2" }] }).places).toHaveLength(2);
  });

  it("limits batches to 1000 places with distinct ids", () => {
    const many = Array.from({ length: 10_001 }, (_, i) => ({ ...place, id: `p${i}` }));
    expect(failure(() => parseUpsertBody({ places: many }))).toMatchObject({
      code: "LIMIT_EXCEEDED",
      message: "places: has 10001 places; at most 10000 per batch",
    });
    expect(failure(() => parseUpsertBody({ places: [place, place] })).message).toBe(
      "places[1].id: duplicates the id of places[0]",
    );
  });

  it("checks place fields: id, name, tags, location, updatedAt", () => {
    expect(failure(() => parsePlace({ ...place, id: "has space" })).message).toBe(
      "id: must be 1-128 printable ASCII characters without spaces",
    );
    expect(failure(() => parsePlace({ ...place, id: "x".repeat(129) })).code).toBe(
      "VALIDATION_FAILED",
    );
    expect(failure(() => parsePlace({ ...place, name: "n".repeat(257) })).message).toBe(
      "name: must have at most 256 characters",
    );
    expect(
      failure(() => parsePlace({ ...place, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }))
        .message,
    ).toBe("tags: must have at most 64 items");
    expect(failure(() => parsePlace({ ...place, tags: ["t".repeat(65)] })).message).toBe(
      "tags[0]: must have at most 64 characters",
    );
    expect(
      failure(() => parsePlace({ ...place, location: { type: "Point", coordinates: [0, 95] } })),
    ).toMatchObject({
      code: "GEO_INVALID_GEOMETRY",
      message: "location.coordinates: latitude 95 is out of range [-90, 90]",
    });
    expect(failure(() => parsePlace({ ...place, updatedAt: "2024-05-01T12:00:00" })).message).toBe(
      "updatedAt: must be an ISO-8601 date or date-time with a time zone (e.g. 2024-05-01T12:00:00Z)",
    );
    expect(parsePlace({ ...place, updatedAt: "2024-05-01T14:00:00+02:00" }).updatedAt).toBe(
      "2024-05-01T12:00:00.000Z",
    );
  });

  it("parses get/delete ids", () => {
    expect(parseIdBody({ id: "a" })).toBe("a");
    expect(failure(() => parseIdBody({ id: "a", x: 1 })).message).toBe("x: unknown field");
  });

  it("normalizes ISO timestamps and rejects impossible dates", () => {
    expect(canonicalIso("2024-01-01")).toBe("2024-01-01T00:00:00.000Z");
    expect(canonicalIso("2023-02-30")).toBeUndefined();
    expect(canonicalIso("yesterday")).toBeUndefined();
  });
});

describe("parseServiceBody", () => {
  it("dispatches on case-insensitive service names", () => {
    expect(parseServiceBody("GEO.Near", { point: [0, 0] }).service).toBe("geo.near");
    expect(parseServiceBody("place.get", { id: "x" })).toEqual({ service: "place.get", id: "x" });
  });

  it("refuses unknown services", () => {
    expect(failure(() => parseServiceBody("geo.drop", {})).code).toBe("SERVICE_NOT_FOUND");
  });

  it("takes a reply form on page queries only", () => {
    expect(parseServiceBody("geo.near", { point: [1, 2], reply: "hits" })).toMatchObject({
      reply: "hits",
    });
    expect(parseServiceBody("geo.near", { point: [1, 2] })).not.toHaveProperty("reply");
    for (const reply of ["HITS", "", null, 1, ["hits"], { hits: true }]) {
      const err = failure(() => parseServiceBody("geo.near", { point: [1, 2], reply }));
      expect(err.code).toBe("VALIDATION_FAILED");
      expect(err.data).toEqual({ field: "reply" });
    }
    const count = failure(() =>
      parseServiceBody("geo.count", { near: { point: [0, 0], maxDistance: 5 }, reply: "hits" }),
    );
    expect(count.code).toBe("VALIDATION_FAILED");
  });

  it("round-trips every request through serviceBodyOf", () => {
    const requests: ServiceRequest[] = [
      parseServiceBody("geo.near", {
        point: [1, 2],
        limit: 3,
        minDistance: 1,
        maxDistance: 9,
        filter: { namePrefix: "B" },
        cursor: encodeNearCursor({ distance: 2, id: "b" }),
      }),
      parseServiceBody("geo.within", {
        geometry: {
          type: "Polygon",
          coordinates: [
            [
              [0, 0],
              [1, 0],
              [1, 1],
              [0, 0],
            ],
          ],
        },
        cursor: encodeIdCursor({ id: "z" }),
      }),
      parseServiceBody("geo.within", { circle: { center: [0, 0], radius: 5 } }),
      parseServiceBody("geo.intersects", {
        geometry: { type: "Point", coordinates: [0, 0] },
        limit: 7,
      }),
      parseServiceBody("geo.count", {
        within: {
          box: [
            [0, 0],
            [1, 1],
          ],
        },
        filter: { category: ["a", "b"] },
      }),
      parseServiceBody("geo.count", { near: { point: [0, 0], maxDistance: 5, minDistance: 1 } }),
      parseServiceBody("geo.count", {
        intersects: { geometry: { type: "Point", coordinates: [0, 0] } },
      }),
      parseServiceBody("geo.aggregate", {
        box: [
          [0, 0],
          [1, 1],
        ],
        cells: [4, 4],
        filter: { updatedAt: { from: "2024-01-01" } },
      }),
      parseServiceBody("place.upsert", place),
      parseServiceBody("place.upsert", { places: [place] }),
      parseServiceBody("place.delete", { id: "x" }),
      parseServiceBody("geo.near", { point: [1, 2], reply: "hits" }),
      parseServiceBody("geo.within", { circle: { center: [0, 0], radius: 5 }, reply: "features" }),
      parseServiceBody("geo.intersects", {
        geometry: { type: "Point", coordinates: [0, 0] },
        reply: "hits",
      }),
    ];
    for (const request of requests) {
      const body: unknown = JSON.parse(JSON.stringify(serviceBodyOf(request)));
      expect(parseServiceBody(request.service, body)).toEqual(request);
    }
  });
});

describe("parseSearchBody", () => {
  it("parses the HTTP search body into a near/within/intersects request", () => {
    expect(parseSearchBody({ near: { point: [1, 2], maxDistance: 100 }, limit: 2 })).toEqual({
      service: "geo.near",
      query: { point: [1, 2], maxDistance: 100, limit: 2 },
    });
    expect(
      parseSearchBody({
        within: {
          box: [
            [0, 0],
            [1, 1],
          ],
        },
      }).service,
    ).toBe("geo.within");
    expect(
      failure(() =>
        parseSearchBody({
          near: { point: [1, 2] },
          within: {
            box: [
              [0, 0],
              [1, 1],
            ],
          },
        }),
      ).message,
    ).toBe("body: only one of near, within, intersects may be given, got near and within");
  });
});

describe("coordinator bodies for moves and batched gets", () => {
  const p = {
    id: "a",
    name: "A",
    category: "x",
    location: { type: "Point", coordinates: [-87, 41] },
  };

  it("parses place.get with ids (deduplicated) and refuses empty or oversized lists", () => {
    expect(parseServiceBody("place.get", { ids: ["a", "b", "a"] })).toEqual({
      service: "place.get",
      ids: ["a", "b"],
    });
    expect(failure(() => parseServiceBody("place.get", { ids: [] })).code).toBe(
      "VALIDATION_FAILED",
    );
    expect(
      failure(() =>
        parseServiceBody("place.get", { ids: Array.from({ length: 1001 }, (_, i) => `i${i}`) }),
      ).code,
    ).toBe("VALIDATION_FAILED");
    expect(failure(() => parseServiceBody("place.get", { ids: ["ok", "has space"] })).code).toBe(
      "VALIDATION_FAILED",
    );
  });

  it("parses place.delete with movedTo and checks the destination place", () => {
    const r = parseServiceBody("place.delete", { id: "a", movedTo: { region: "MW", place: p } });
    expect(r).toMatchObject({ service: "place.delete", id: "a", movedTo: { region: "MW" } });
    expect(parseServiceBody(r.service, serviceBodyOf(r))).toEqual(r);
    const bad = { ...p, location: { type: "Point", coordinates: [500, 0] } };
    expect(
      failure(() =>
        parseServiceBody("place.delete", { id: "a", movedTo: { region: "MW", place: bad } }),
      ).code,
    ).toBe("GEO_INVALID_GEOMETRY");
    expect(
      failure(() => parseServiceBody("place.delete", { id: "a", movedTo: { x: 1 } })).code,
    ).toBe("VALIDATION_FAILED");
  });

  it("parses an upsert batch's moved map, only for ids of the batch", () => {
    const r = parseUpsertBody({ places: [p], moved: { a: { from: "NE", location: [-74, 40.7] } } });
    expect(r.moved).toEqual({ a: { from: "NE", location: [-74, 40.7] } });
    const req = { service: "place.upsert" as const, ...r };
    expect(parseServiceBody(req.service, serviceBodyOf(req))).toEqual(req);
    expect(
      failure(() =>
        parseUpsertBody({ places: [p], moved: { zz: { from: "NE", location: [0, 0] } } }),
      ).code,
    ).toBe("VALIDATION_FAILED");
    expect(
      failure(() =>
        parseUpsertBody({ places: [p], moved: { a: { from: "NE", location: [0, 99] } } }),
      ).code,
    ).toBe("GEO_INVALID_GEOMETRY");
    expect(
      failure(() =>
        parseUpsertBody({ places: [p], moved: { a: { from: "NE", location: [0, 0], $x: 1 } } }),
      ).code,
    ).toBe("VALIDATION_FAILED");
  });
});
