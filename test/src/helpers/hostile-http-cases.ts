/**
 * Generated malformed requests for the gateway's HTTP API (fast-check, fixed seeds). Every case
 * carries at least one defect by construction — a generator never relies on luck to make a
 * request invalid — and, where exactly one documented rule decides the answer, the codes that
 * rule allows.
 */
import fc from "fast-check";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** What a case's answer must be besides "a 4xx geomesh error whose status matches". */
export interface Expectation {
  readonly status?: number;
  readonly codes?: readonly string[];
}

/** A request sent with `fetch`. */
export interface HttpCase {
  readonly kind: "http";
  readonly category: string;
  readonly method: Method;
  /** Path and query, already encoded. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly expect?: Expectation;
}

/** Bytes written on a raw socket (broken HTTP or paths `fetch` would normalise). */
export interface RawCase {
  readonly kind: "raw";
  readonly category: string;
  readonly chunks: readonly Buffer[];
  readonly expect?: Expectation;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = readonly (string | number)[];

const JSON_CT = { "content-type": "application/json" } as const;
const NDJSON_CT = { "content-type": "application/x-ndjson" } as const;

const VALIDATION = ["VALIDATION_FAILED"] as const;
const GEOMETRY = ["GEO_INVALID_GEOMETRY"] as const;
const LIMIT = ["LIMIT_EXCEEDED"] as const;

/** Ids the suite seeds; hostile writes aim at some of them so an accidental write shows up. */
export const SEEDED_IDS = [
  "seed-nyc",
  "seed-boston",
  "seed-chicago",
  "seed-minneapolis",
  "seed-atlanta",
  "seed-miami",
  "seed-dc",
  "seed-denver",
  "seed-phoenix",
  "seed-dallas",
  "seed-la",
  "seed-seattle",
  "seed-portland",
  "seed-honolulu",
] as const;

/** Land points well inside one region each (a write there would be accepted). */
export const LAND: readonly (readonly [number, number])[] = [
  [-74.006, 40.7128],
  [-71.06, 42.36],
  [-87.63, 41.88],
  [-93.27, 44.98],
  [-84.39, 33.75],
  [-80.19, 25.76],
  [-77.04, 38.9],
  [-104.99, 39.74],
  [-112.07, 33.45],
  [-96.8, 32.78],
  [-118.24, 34.05],
  [-122.33, 47.61],
  [-122.68, 45.52],
  [-157.86, 21.31],
];

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const text = (s: string) => Buffer.from(s, "utf8");
const qs = (params: readonly (readonly [string, string])[]) =>
  params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Sets `value` at `path`, creating objects on the way; own `__proto__` keys stay own keys. */
function setAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const out = clone(root);
  let node = out as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = {};
    node = node[key] as Record<string | number, Json>;
  }
  Object.defineProperty(node, path[path.length - 1]!, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return out;
}

/** Paths of every (non-array) object in `root`, the root included. */
function objectPaths(root: Json, at: Path = []): Path[] {
  if (typeof root !== "object" || root === null) return [];
  const out: Path[] = Array.isArray(root) ? [] : [at];
  for (const [k, v] of Object.entries(root))
    out.push(...objectPaths(v, [...at, Array.isArray(root) ? Number(k) : k]));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Valid building blocks (each case then adds its defect)

const jitter = fc.double({ min: -0.05, max: 0.05, noNaN: true });
const landPoint = fc
  .tuple(fc.constantFrom(...LAND), jitter, jitter)
  .map(([[lng, lat], dx, dy]): [number, number] => [round6(lng + dx), round6(lat + dy)]);

const freshId = fc.stringMatching(/^[a-z0-9_.:-]{1,40}$/).map((s) => `fuzz-${s}`);
const targetId = fc.oneof(fc.constantFrom(...SEEDED_IDS), freshId);

const validPlace = fc.record({
  name: fc.constantFrom("WRITTEN-BY-FUZZ", "Fuzz cafe", "x"),
  category: fc.constantFrom("cafe", "park", "shop"),
  location: landPoint.map((c) => ({ type: "Point", coordinates: c })),
  tags: fc.array(fc.constantFrom("wifi", "late", "free"), { maxLength: 3 }),
  properties: fc.dictionary(
    fc.stringMatching(/^[a-z]{1,8}$/),
    fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.boolean()),
    { maxKeys: 3 },
  ),
}) as fc.Arbitrary<Json>;

function square(center: readonly [number, number], size: number): Json {
  const [x, y] = center;
  const h = size / 2;
  return {
    type: "Polygon",
    coordinates: [
      [
        [round6(x - h), round6(y - h)],
        [round6(x + h), round6(y - h)],
        [round6(x + h), round6(y + h)],
        [round6(x - h), round6(y + h)],
        [round6(x - h), round6(y - h)],
      ],
    ],
  };
}

const size = fc.double({ min: 0.05, max: 3, noNaN: true });
const limit = fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined });

/** Valid search bodies of every shape, keyed by variant so mutations know their fields. */
const validSearch = fc.oneof(
  fc
    .record({ p: landPoint, d: fc.integer({ min: 1, max: 1_000_000 }), limit })
    .map(({ p, d, limit: l }) => ({
      near: { point: p, maxDistance: d },
      filter: { category: "cafe" },
      ...(l ? { limit: l } : {}),
    })),
  fc.record({ p: landPoint, s: size }).map(({ p, s }) => ({
    within: {
      box: [
        [round6(p[0] - s), round6(p[1] - s / 2)],
        [round6(p[0] + s), round6(p[1] + s / 2)],
      ],
    },
    limit: 10,
  })),
  fc
    .record({ p: landPoint, r: fc.integer({ min: 1, max: 1_000_000 }) })
    .map(({ p, r }) => ({ within: { circle: { center: p, radius: r } } })),
  fc
    .record({ p: landPoint, s: size })
    .map(({ p, s }) => ({ within: { geometry: square(p, s) }, filter: { tags: ["wifi"] } })),
  fc
    .record({ p: landPoint, s: size })
    .map(({ p, s }) => ({ intersects: { geometry: square(p, s) }, limit: 5 })),
);

// ---------------------------------------------------------------------------------------------
// Wrong values per expected type

const WRONG: Record<"number" | "string" | "array" | "object", readonly Json[]> = {
  number: ["12", "abc", "", true, false, null, {}, [], [1], { n: 1 }],
  string: [1, -3.5, 0, true, false, null, {}, [1], { s: "a" }],
  array: ["[1,2]", "", 1, true, null, {}, { "0": 1 }],
  object: ["x", "", 1, true, false, null, [], [{}]],
};
type Kind = keyof typeof WRONG;

const SEARCH_FIELDS: readonly (readonly [Path, Kind])[] = [
  [["near"], "object"],
  [["near", "point"], "array"],
  [["near", "point", 0], "number"],
  [["near", "point", 1], "number"],
  [["near", "maxDistance"], "number"],
  [["near", "minDistance"], "number"],
  [["within"], "object"],
  [["within", "box"], "array"],
  [["within", "box", 0], "array"],
  [["within", "circle"], "object"],
  [["within", "circle", "center"], "array"],
  [["within", "circle", "radius"], "number"],
  [["within", "geometry"], "object"],
  [["within", "geometry", "type"], "string"],
  [["within", "geometry", "coordinates"], "array"],
  [["intersects"], "object"],
  [["intersects", "geometry"], "object"],
  [["limit"], "number"],
  [["filter"], "object"],
  [["filter", "category"], "string"],
  [["filter", "tags"], "array"],
  [["filter", "tags", 0], "string"],
  [["filter", "namePrefix"], "string"],
  [["filter", "updatedAt"], "object"],
  [["filter", "updatedAt", "from"], "string"],
  [["cursor"], "string"],
];

/** The field must exist in (or be addable to) the body's variant for the mutation to be one defect. */
function fitsVariant(body: Json, path: Path): boolean {
  const top = Object.keys(body as object);
  const head = path[0] as string;
  if (["near", "within", "intersects"].includes(head)) return top.includes(head);
  if (head === "cursor" || head === "limit" || head === "filter") return true;
  return false;
}

const PLACE_FIELDS: readonly (readonly [Path, Kind])[] = [
  [["name"], "string"],
  [["category"], "string"],
  [["location"], "object"],
  [["location", "type"], "string"],
  [["location", "coordinates"], "array"],
  [["location", "coordinates", 0], "number"],
  [["location", "coordinates", 1], "number"],
  [["tags"], "array"],
  [["tags", 0], "string"],
  [["properties"], "object"],
  [["updatedAt"], "string"],
  [["id"], "string"],
];

const wrongFor = (kind: Kind) => fc.constantFrom(...WRONG[kind]);

// ---------------------------------------------------------------------------------------------
// Requests

const search = (category: string, body: Buffer, expect?: Expectation): HttpCase => ({
  kind: "http",
  category,
  method: "POST",
  path: "/v1/places/search",
  headers: JSON_CT,
  body,
  ...(expect ? { expect } : {}),
});

const put = (category: string, id: string, body: Buffer, expect?: Expectation): HttpCase => ({
  kind: "http",
  category,
  method: "PUT",
  path: `/v1/places/${encodeURIComponent(id)}`,
  headers: JSON_CT,
  body,
  ...(expect ? { expect } : {}),
});

const near = (
  category: string,
  params: readonly (readonly [string, string])[],
  expect?: Expectation,
): HttpCase => ({
  kind: "http",
  category,
  method: "GET",
  path: `/v1/places/near?${qs(params)}`,
  headers: {},
  ...(expect ? { expect } : {}),
});

const nearParams = landPoint.map(
  ([lng, lat]) =>
    [
      ["lng", String(lng)],
      ["lat", String(lat)],
      ["limit", "5"],
    ] as [string, string][],
);

function isInvalidJson(buf: Buffer): boolean {
  try {
    JSON.parse(buf.toString("utf8"));
    return false;
  } catch {
    return true;
  }
}

// 1. bad JSON: truncated, corrupted, JS-not-JSON literals, random bytes
const invalidJsonBody: fc.Arbitrary<Buffer> = fc
  .oneof(
    fc
      .tuple(fc.oneof(validSearch, validPlace), fc.double({ min: 0, max: 0.999, noNaN: true }))
      .map(([v, f]) => {
        const s = JSON.stringify(v);
        return text(s.slice(0, Math.floor(s.length * f)));
      }),
    fc
      .tuple(
        fc.oneof(validSearch, validPlace),
        fc.nat(),
        fc.constantFrom("'", "}", "{", ",", ":", "\\", "]", '"', "\u0000", "NaN", "undefined"),
      )
      .map(([v, at, junk]) => {
        const s = JSON.stringify(v);
        const i = at % s.length;
        return text(s.slice(0, i) + junk + s.slice(i));
      }),
    fc
      .constantFrom(
        "{'near':{'point':[-74,40]}}",
        "{near:{point:[-74,40]}}",
        '{"near":{"point":[-74,40],}}',
        '{"near":{"point":[NaN,40]}}',
        '{"near":{"point":[Infinity,-Infinity]}}',
        '{"near":{"point":[-74,40]}} // comment',
        '/* c */ {"near":{"point":[-74,40]}}',
        '{"near":{"point":[-74,40]}}}',
        '{"near":{"point":[-74,40]}}{"x":1}',
        '{"name":"x","category":"c","location":{"type":"Point","coordinates":[0x10,40]}}',
        '{"name":"x",,"category":"c"}',
        '{"name":"\\x41"}',
        '{"name":"\\u12"}',
        '{"a":01}',
        '{"a":.5}',
        '{"a":+1}',
        "[1,2",
        "nul",
        "tru",
        "{",
        "}",
        "]",
        " ",
        "\u00ef\u00bb\u00bf{",
        "\uFEFF",
      )
      .map(text),
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.string({ unit: "binary", minLength: 1, maxLength: 200 }).map(text),
  )
  .filter(isInvalidJson);

const invalidJson = fc.oneof(
  invalidJsonBody.map((b) => search("invalid JSON", b, { status: 400, codes: ["BAD_REQUEST"] })),
  fc
    .tuple(targetId, invalidJsonBody)
    .map(([id, b]) => put("invalid JSON", id, b, { status: 400, codes: ["BAD_REQUEST"] })),
  // An empty body with a JSON content type is no JSON either.
  fc.constant(search("invalid JSON", Buffer.alloc(0), { status: 400 })),
);

// 2. content types that are not JSON, on bodies that would otherwise be valid
const NOT_JSON_TYPES = [
  "text/plain",
  "text/html",
  "text/json",
  "application/xml",
  "application/octet-stream",
  "application/jsonx",
  "application/json-patch+json",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "image/png",
  "application/",
  "json",
  "*/*",
  ";",
  "",
] as const;
const wrongContentType = fc.oneof(
  fc.tuple(validSearch, fc.constantFrom(...NOT_JSON_TYPES)).map(([b, ct]): HttpCase => ({
    ...search("wrong content type", json(b)),
    headers: ct === "" ? {} : { "content-type": ct },
  })),
  fc
    .tuple(targetId, validPlace, fc.constantFrom(...NOT_JSON_TYPES))
    .map(([id, b, ct]): HttpCase => ({
      ...put("wrong content type", id, json(b)),
      headers: ct === "" ? {} : { "content-type": ct },
    })),
);

// 3. deep nesting (> 32 levels), built as text so the generator itself never recurses
const depth = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 33, max: 200 }) },
  { weight: 3, arbitrary: fc.integer({ min: 200, max: 5000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 5000, max: 120_000 }) },
);
const nested = fc.tuple(depth, fc.constantFrom("array", "object", "mixed")).map(([d, k]) => {
  if (k === "array") return "[".repeat(d) + "]".repeat(d);
  if (k === "object") return '{"a":'.repeat(d) + "1" + "}".repeat(d);
  const half = Math.ceil(d / 2);
  return '[{"a":'.repeat(half) + "1" + "}]".repeat(half);
});
const SEARCH_NEST_AT = [
  (n: string) => `{"near":{"point":${n}}}`,
  (n: string) => `{"near":{"point":[-74,40.7]},"filter":${n}}`,
  (n: string) => `{"near":{"point":[-74,40.7]},"filter":{"tags":${n}}}`,
  (n: string) => `{"within":${n}}`,
  (n: string) => `{"within":{"geometry":{"type":"Polygon","coordinates":${n}}}}`,
  (n: string) => `{"near":{"point":[-74,40.7]},"limit":${n}}`,
  (n: string) => n,
];
const PLACE_NEST_AT = [
  (n: string) =>
    `{"name":"x","category":"c","location":{"type":"Point","coordinates":[-74,40.7]},"properties":{"deep":${n}}}`,
  (n: string) =>
    `{"name":"x","category":"c","location":{"type":"Point","coordinates":[-74,40.7]},"tags":${n}}`,
  (n: string) => `{"name":"x","category":"c","location":${n}}`,
  (n: string) => n,
];
const NESTING = ["LIMIT_EXCEEDED", "VALIDATION_FAILED"] as const;
const deepNesting = fc.oneof(
  fc
    .tuple(nested, fc.constantFrom(...SEARCH_NEST_AT))
    .map(([n, at]) => search("deep nesting", text(at(n)), { codes: NESTING })),
  fc
    .tuple(targetId, nested, fc.constantFrom(...PLACE_NEST_AT))
    .map(([id, n, at]) => put("deep nesting", id, text(at(n)), { codes: NESTING })),
);

// 4. huge values: long strings, long arrays, huge numbers
const repeated = (min: number, max: number) =>
  fc
    .tuple(fc.integer({ min, max }), fc.constantFrom("a", "é", "😀", "z9"))
    // n repetitions: at least n characters however they are counted (code points or units).
    .map(([n, ch]) => ch.repeat(n));
const hugeMagnitude = fc
  .tuple(fc.double({ min: 1e6, max: 1e308, noNaN: true }), fc.boolean())
  .map(([v, neg]) => (neg ? -v : v));
const placeWith = (path: Path, value: fc.Arbitrary<Json>) =>
  fc.tuple(validPlace, value).map(([p, v]) => setAt(p, path, v));
const searchNearWith = (path: Path, value: fc.Arbitrary<Json>) =>
  fc.tuple(landPoint, value).map(([p, v]) => setAt({ near: { point: p }, limit: 5 }, path, v));
const hugeValues = fc.oneof(
  fc
    .tuple(targetId, placeWith(["name"], repeated(257, 200_000)))
    .map(([id, b]) => put("huge values", id, json(b), { codes: VALIDATION })),
  fc
    .tuple(targetId, placeWith(["category"], repeated(65, 50_000)))
    .map(([id, b]) => put("huge values", id, json(b), { codes: VALIDATION })),
  fc
    .tuple(
      targetId,
      placeWith(["tags"], fc.array(fc.constant("t"), { minLength: 65, maxLength: 5000 })),
    )
    .map(([id, b]) => put("huge values", id, json(b), { codes: VALIDATION })),
  fc
    .tuple(
      targetId,
      placeWith(
        ["tags"],
        repeated(65, 10_000).map((t) => [t]),
      ),
    )
    .map(([id, b]) => put("huge values", id, json(b), { codes: VALIDATION })),
  fc
    .tuple(targetId, placeWith(["location", "coordinates", 0], hugeMagnitude))
    .map(([id, b]) => put("huge values", id, json(b), { codes: GEOMETRY })),
  fc
    .tuple(targetId, placeWith(["location", "coordinates", 1], hugeMagnitude))
    .map(([id, b]) => put("huge values", id, json(b), { codes: GEOMETRY })),
  searchNearWith(["near", "point", 0], hugeMagnitude).map((b) =>
    search("huge values", json(b), { codes: GEOMETRY }),
  ),
  // Literals beyond double range parse to ±Infinity.
  fc
    .tuple(
      fc.constantFrom("1e309", "-1e309", "1e99999", "-123456789e999"),
      fc.constantFrom(0, 1),
      targetId,
      fc.boolean(),
    )
    .map(([lit, at, id, asPlace]) => {
      const coords = at === 0 ? `[${lit},40.7]` : `[-74,${lit}]`;
      return asPlace
        ? put(
            "huge values",
            id,
            text(`{"name":"x","category":"c","location":{"type":"Point","coordinates":${coords}}}`),
            { codes: [...VALIDATION, ...GEOMETRY] },
          )
        : search("huge values", text(`{"near":{"point":${coords}}}`), {
            codes: [...VALIDATION, ...GEOMETRY],
          });
    }),
  searchNearWith(
    ["near", "point"],
    fc
      .tuple(fc.integer({ min: 3, max: 200_000 }), landPoint)
      .map(([n, p]) => [...p, ...Array.from({ length: n - 2 }, (_, i) => i % 90)]),
  ).map((b) => search("huge values", json(b), { codes: GEOMETRY })),
  searchNearWith(
    ["cursor"],
    fc.integer({ min: 513, max: 100_000 }).map((n) => "A".repeat(n)),
  ).map((b) => search("huge values", json(b), { codes: VALIDATION })),
  searchNearWith(["filter", "namePrefix"], repeated(257, 100_000)).map((b) =>
    search("huge values", json(b), { codes: VALIDATION }),
  ),
  searchNearWith(
    ["filter", "tags"],
    fc.array(fc.constant("t"), { minLength: 65, maxLength: 5000 }),
  ).map((b) => search("huge values", json(b), { codes: VALIDATION })),
  searchNearWith(
    ["filter", "category"],
    fc.array(fc.constant("c"), { minLength: 65, maxLength: 5000 }),
  ).map((b) => search("huge values", json(b), { codes: VALIDATION })),
  searchNearWith(
    ["limit"],
    fc.double({ min: 2 ** 53, max: 1e300, noNaN: true }).map(Math.floor),
  ).map((b) => search("huge values", json(b), { codes: [...VALIDATION, ...LIMIT] })),
  fc
    .tuple(nearParams, fc.integer({ min: 400, max: 6000 }), fc.constantFrom("lng", "lat"))
    .map(([params, n, which]) =>
      near(
        "huge values",
        params.map(([k, v]) => [k, k === which ? `1${"0".repeat(n)}` : v] as const),
        { codes: [...VALIDATION, ...GEOMETRY] },
      ),
    ),
);

// 5. number-like strings where numbers belong
const NUMBERISH = [
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "+Infinity",
  "inf",
  "1e400",
  "1e3",
  "0x1F",
  "0b101",
  "0o17",
  "1_000",
  "--1",
  "1..2",
  "1.2.3",
  "",
  " ",
  "null",
  "undefined",
  "true",
  "[1]",
  "{}",
  "١٢",
  "１２",
  "1 2",
  "12abc",
  "1,5",
  "½",
  "\u0000",
  "- 5",
] as const;
const numberLike = fc.oneof(
  fc
    .tuple(
      nearParams,
      fc.constantFrom("lng", "lat", "limit", "maxDistance", "minDistance"),
      fc.constantFrom(...NUMBERISH),
    )
    .map(([params, which, bad]) => {
      const rest = params.filter(([k]) => k !== which);
      return near("number-like strings", [...rest, [which, bad]], { codes: VALIDATION });
    }),
  fc
    .tuple(
      landPoint,
      fc.constantFrom(
        ["near", "point", 0],
        ["near", "point", 1],
        ["near", "maxDistance"],
        ["near", "minDistance"],
        ["limit"],
      ),
      fc.constantFrom("NaN", "Infinity", "-Infinity", "1e3", "0x10", "12", ""),
    )
    .map(([p, path, bad]) =>
      search("number-like strings", json(setAt({ near: { point: p } }, path, bad)), {
        codes: [...VALIDATION, ...GEOMETRY],
      }),
    ),
  fc
    .tuple(targetId, validPlace, fc.constantFrom(0, 1), fc.constantFrom("NaN", "Infinity", "-74"))
    .map(([id, p, i, bad]) =>
      put("number-like strings", id, json(setAt(p, ["location", "coordinates", i], bad)), {
        codes: [...VALIDATION, ...GEOMETRY],
      }),
    ),
);

// 6. wrong types in every field
const wrongTypes = fc.oneof(
  fc
    .tuple(validSearch, fc.constantFrom(...SEARCH_FIELDS))
    .filter(([b, [path]]) => fitsVariant(b, path))
    .chain(([b, [path, kind]]) =>
      wrongFor(kind).map((v) => search("wrong types", json(setAt(b, path, v)))),
    ),
  fc.tuple(targetId, validPlace, fc.constantFrom(...PLACE_FIELDS)).chain(([id, p, [path, kind]]) =>
    wrongFor(kind).map((v) => {
      // tags[0] needs a tags array to land in.
      const base = path[0] === "tags" && path.length > 1 ? setAt(p, ["tags"], ["a"]) : p;
      return put("wrong types", id, json(setAt(base, path, v)));
    }),
  ),
);

// 7. coordinates out of range
const badLng = fc
  .tuple(fc.double({ min: 180.000001, max: 10_000, noNaN: true }), fc.boolean())
  .map(([v, neg]) => round6(neg ? -v : v));
const badLat = fc
  .tuple(fc.double({ min: 90.000001, max: 10_000, noNaN: true }), fc.boolean())
  .map(([v, neg]) => round6(neg ? -v : v));
// The in-range half is rounded so that, printed in a query string, it is never in e-notation.
const okLat = fc.double({ min: -80, max: 80, noNaN: true }).map(round6);
const okLng = fc.double({ min: -170, max: 170, noNaN: true }).map(round6);
const badPosition = fc.oneof(fc.tuple(badLng, okLat), fc.tuple(okLng, badLat));
const outOfRange = fc.oneof(
  badPosition.map((p) =>
    search("coordinates out of range", json({ near: { point: p } }), { codes: GEOMETRY }),
  ),
  fc.tuple(badPosition, landPoint, fc.boolean()).map(([bad, ok, first]) =>
    search("coordinates out of range", json({ within: { box: first ? [bad, ok] : [ok, bad] } }), {
      codes: GEOMETRY,
    }),
  ),
  fc.tuple(badPosition, fc.integer({ min: 1, max: 100_000 })).map(([c, r]) =>
    search("coordinates out of range", json({ within: { circle: { center: c, radius: r } } }), {
      codes: GEOMETRY,
    }),
  ),
  fc
    .tuple(landPoint, size, badPosition, fc.integer({ min: 1, max: 3 }), fc.boolean())
    .map(([p, s, bad, i, inIntersects]) => {
      const poly = setAt(square(p, s), ["coordinates", 0, i], bad);
      return search(
        "coordinates out of range",
        json(inIntersects ? { intersects: { geometry: poly } } : { within: { geometry: poly } }),
        { codes: GEOMETRY },
      );
    }),
  badPosition.map((c) =>
    search(
      "coordinates out of range",
      json({ intersects: { geometry: { type: "Point", coordinates: c } } }),
      { codes: GEOMETRY },
    ),
  ),
  fc.tuple(targetId, validPlace, badPosition).map(([id, p, c]) =>
    put("coordinates out of range", id, json(setAt(p, ["location", "coordinates"], c)), {
      codes: GEOMETRY,
    }),
  ),
  badPosition.map(([lng, lat]) =>
    near(
      "coordinates out of range",
      [
        ["lng", String(lng)],
        ["lat", String(lat)],
      ],
      { codes: GEOMETRY },
    ),
  ),
);

// 8. invalid polygons: unclosed, too few positions, self-intersecting, holes outside, > 10 000 vertices
const polygonIn = (geometry: Json, where: "within" | "intersects" | "multi"): Buffer => {
  if (where === "multi")
    return json({
      within: {
        geometry: {
          type: "MultiPolygon",
          coordinates: [(geometry as { coordinates: Json }).coordinates],
        },
      },
    });
  return json({ [where]: { geometry } });
};
const where = fc.constantFrom<"within" | "intersects" | "multi">("within", "intersects", "multi");
const ring = (c: readonly [number, number], r: number, n: number, rot = 0): [number, number][] =>
  Array.from({ length: n }, (_, k) => {
    const a = rot + (2 * Math.PI * k) / n;
    return [round6(c[0] + r * Math.cos(a)), round6(c[1] + r * Math.sin(a))] as [number, number];
  });
const closed = (pts: [number, number][]) => [...pts, pts[0]!];
const badPolygon = fc.oneof(
  // unclosed: n ≥ 4 distinct positions, last ≠ first
  fc.tuple(landPoint, size, fc.integer({ min: 4, max: 40 }), where).map(([c, s, n, w]) =>
    search("invalid polygons", polygonIn({ type: "Polygon", coordinates: [ring(c, s, n)] }, w), {
      codes: GEOMETRY,
    }),
  ),
  // fewer than 4 positions
  fc.tuple(landPoint, size, fc.integer({ min: 0, max: 3 }), where).map(([c, s, n, w]) => {
    const pts = ring(c, s, 3).slice(0, Math.max(1, n));
    const r = n === 0 ? [] : n === 3 ? [pts[0]!, pts[1]!, pts[0]!] : pts;
    return search("invalid polygons", polygonIn({ type: "Polygon", coordinates: [r] }, w), {
      codes: GEOMETRY,
    });
  }),
  fc.constant(
    search(
      "invalid polygons",
      json({ within: { geometry: { type: "Polygon", coordinates: [] } } }),
      {
        codes: GEOMETRY,
      },
    ),
  ),
  // self-intersecting: a bow-tie, and a ring through itself
  fc.tuple(landPoint, size, where).map(([[x, y], s, w]) =>
    search(
      "invalid polygons",
      polygonIn(
        {
          type: "Polygon",
          coordinates: [
            [
              [x, y],
              [round6(x + s), round6(y + s)],
              [round6(x + s), y],
              [x, round6(y + s)],
              [x, y],
            ],
          ],
        },
        w,
      ),
      { codes: GEOMETRY },
    ),
  ),
  fc.tuple(landPoint, size, fc.integer({ min: 5, max: 15 }), where).map(([c, s, n, w]) => {
    // A star polygon {n/2} (odd n): every edge crosses others.
    const pts = ring(c, s, n % 2 === 0 ? n + 1 : n);
    const star = pts.map((_, k) => pts[(2 * k) % pts.length]!);
    return search(
      "invalid polygons",
      polygonIn({ type: "Polygon", coordinates: [closed(star)] }, w),
      { codes: GEOMETRY },
    );
  }),
  // a hole outside its shell, or crossing it
  fc
    .tuple(landPoint, size, fc.double({ min: 3, max: 10, noNaN: true }), fc.boolean(), where)
    .map(([c, s, far, crossing, w]) => {
      const shell = closed(ring(c, s, 4, Math.PI / 4));
      const offset = crossing ? 0.7 * s : s * far;
      const hole = closed(ring([c[0] + offset, c[1]], s / 3, 4, Math.PI / 4).reverse());
      return search(
        "invalid polygons",
        polygonIn({ type: "Polygon", coordinates: [shell, hole] }, w),
        { codes: GEOMETRY },
      );
    }),
  // wrong geometry types / structure
  fc
    .tuple(
      landPoint,
      size,
      fc.constantFrom("polygon", "POLYGON", "Circle", "GeometryCollection", "Feature", "Box", ""),
    )
    .map(([c, s, type]) =>
      search(
        "invalid polygons",
        json({ within: { geometry: { ...(square(c, s) as object), type } } }),
        { codes: GEOMETRY },
      ),
    ),
  fc
    .tuple(landPoint, size)
    .map(([c, s]) =>
      search(
        "invalid polygons",
        json({ within: { geometry: { type: "Polygon", coordinates: closed(ring(c, s, 5)) } } }),
        { codes: GEOMETRY },
      ),
    ),
  fc
    .tuple(landPoint, size)
    .map(([c, s]) =>
      search(
        "invalid polygons",
        json({ within: { geometry: { type: "LineString", coordinates: ring(c, s, 5) } } }),
        { codes: GEOMETRY },
      ),
    ),
);
// > 10 000 vertices (few: each is a few hundred KB)
const tooManyVertices = fc
  .tuple(landPoint, fc.integer({ min: 10_001, max: 11_000 }), fc.boolean())
  .map(([c, n, multi]) => {
    if (!multi)
      return search(
        "polygon > 10 000 vertices",
        json({ within: { geometry: { type: "Polygon", coordinates: [closed(ring(c, 0.5, n))] } } }),
        { codes: LIMIT },
      );
    // Three valid polygons that only together pass the limit.
    const part = Math.ceil(n / 3);
    const polys = [0, 1, 2].map((k) => [closed(ring([c[0] + 2 * k, c[1]], 0.5, part))]);
    return search(
      "polygon > 10 000 vertices",
      json({ within: { geometry: { type: "MultiPolygon", coordinates: polys } } }),
      { codes: LIMIT },
    );
  });

// 9. documented limits
const overLimit = fc.oneof(
  fc.integer({ min: 1001, max: 10_000 }),
  fc.integer({ min: 10_000, max: Number.MAX_SAFE_INTEGER }),
);
const overDistance = fc.oneof(
  fc.integer({ min: 1_000_001, max: 2_000_000 }),
  fc.double({ min: 1_000_000.001, max: 1e12, noNaN: true }).map(round6),
);
const limits = fc.oneof(
  fc
    .tuple(nearParams, overLimit)
    .map(([params, l]) =>
      near(
        "limit / distance over the maximum",
        [...params.filter(([k]) => k !== "limit"), ["limit", String(l)]],
        { codes: LIMIT },
      ),
    ),
  fc.tuple(nearParams, overDistance).map(([params, d]) =>
    near("limit / distance over the maximum", [...params, ["maxDistance", String(d)]], {
      codes: LIMIT,
    }),
  ),
  fc.tuple(landPoint, overLimit).map(([p, l]) =>
    search("limit / distance over the maximum", json({ near: { point: p }, limit: l }), {
      codes: LIMIT,
    }),
  ),
  fc.tuple(validSearch, overLimit).map(([b, l]) =>
    search("limit / distance over the maximum", json(setAt(b, ["limit"], l)), {
      codes: LIMIT,
    }),
  ),
  fc.tuple(landPoint, overDistance).map(([p, d]) =>
    search("limit / distance over the maximum", json({ near: { point: p, maxDistance: d } }), {
      codes: LIMIT,
    }),
  ),
  fc
    .tuple(landPoint, overDistance)
    .map(([p, d]) =>
      search(
        "limit / distance over the maximum",
        json({ within: { circle: { center: p, radius: d } } }),
        { codes: LIMIT },
      ),
    ),
  fc.tuple(landPoint, fc.double({ min: 2.1e7, max: 1e12, noNaN: true }).map(round6)).map(([p, d]) =>
    search("limit / distance over the maximum", json({ near: { point: p, minDistance: d } }), {
      codes: LIMIT,
    }),
  ),
);

// 10. operator and prototype keys, nested anywhere
const INJECTED = [
  "$where",
  "$gt",
  "$ne",
  "$regex",
  "$expr",
  "$function",
  "$or",
  "$set",
  "$near",
  "__proto__",
  "constructor",
  "prototype",
] as const;
const injectedValue = fc.oneof(
  fc.constantFrom<Json>("1", 1, true, null, "this.x==1", { polluted: true }, [{ $gt: "" }]),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);
const injectAnywhere = (body: Json) =>
  fc
    .tuple(fc.constantFrom(...objectPaths(body)), fc.constantFrom(...INJECTED), injectedValue)
    .map(([path, key, value]) => setAt(body, [...path, key], value));
const SCALAR_OPERATORS = ["$gt", "$ne", "$in", "$regex", "$exists"] as const;
const injection = fc.oneof(
  validSearch
    .chain(injectAnywhere)
    .map((b) => search("$-keys / prototype keys", json(b), { codes: VALIDATION })),
  fc
    .tuple(
      targetId,
      validPlace.map((p) => setAt(p, ["properties", "n"], { k: 1 })),
    )
    .chain(([id, p]) =>
      injectAnywhere(p).map((b) =>
        put("$-keys / prototype keys", id, json(b), { codes: VALIDATION }),
      ),
    ),
  fc
    .tuple(
      landPoint,
      fc.constantFrom(["filter", "category"], ["limit"], ["near", "maxDistance"], ["cursor"]),
      fc.constantFrom(...SCALAR_OPERATORS),
    )
    .map(([p, path, op]) =>
      search(
        "$-keys / prototype keys",
        json(setAt({ near: { point: p }, filter: { category: "cafe" } }, path, { [op]: "" })),
        { codes: VALIDATION },
      ),
    ),
  fc
    .tuple(targetId, validPlace, fc.constantFrom(["name"], ["category"], ["id"]))
    .map(([id, p, path]) =>
      put("$-keys / prototype keys", id, json(setAt(p, path, { $ne: null })), {
        codes: VALIDATION,
      }),
    ),
  fc
    .tuple(
      nearParams,
      fc.constantFrom(
        "$where",
        "$gt",
        "__proto__",
        "constructor",
        "prototype",
        "lng[$gt]",
        "lat[$ne]",
        "__proto__[polluted]",
        "constructor[prototype][polluted]",
        "filter[$where]",
        "category[$ne]",
      ),
      fc.constantFrom("1", "", "true", "this.x"),
    )
    .map(([params, key, v]) =>
      near("$-keys / prototype keys", [...params, [key, v]], { codes: VALIDATION }),
    ),
);

// 11. unknown fields and unknown query parameters
const unknownName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,15}$/).map((s) => `x_${s}`);
const unknownFields = fc.oneof(
  fc
    .tuple(validSearch, unknownName, injectedValue)
    .chain(([b, name, v]) => {
      // Anywhere but inside free-form maps (there are none in a search body).
      const spots = objectPaths(b);
      return fc.constantFrom(...spots).map((path) => setAt(b, [...path, name], v));
    })
    .map((b) => search("unknown fields", json(b), { codes: VALIDATION })),
  fc
    .tuple(targetId, validPlace, unknownName, fc.constantFrom([], ["location"]))
    .map(([id, p, name, at]) =>
      put("unknown fields", id, json(setAt(p, [...at, name], 1)), { codes: VALIDATION }),
    ),
  fc
    .tuple(
      nearParams,
      fc.oneof(
        unknownName,
        fc.constantFrom(
          "LNG",
          "Lat",
          "lng ",
          " lat",
          "limit[]",
          "sort",
          "skip",
          "offset",
          "filter",
          "near",
          "point",
        ),
      ),
      fc.constantFrom("1", "", "x"),
    )
    .map(([params, key, v]) =>
      near("unknown query parameters", [...params, [key, v]], { codes: VALIDATION }),
    ),
);

// 12. repeated query parameters
const repeatedParams = fc
  .tuple(
    nearParams,
    fc.constantFrom("lng", "lat", "limit"),
    fc.integer({ min: 2, max: 5 }),
    fc.boolean(),
  )
  .map(([params, key, times, same]) => {
    const value = params.find(([k]) => k === key)![1];
    const extra = Array.from(
      { length: times - 1 },
      (_, i) => [key, same ? value : String(i + 1)] as const,
    );
    return near("repeated query parameters", [...params, ...extra], { codes: VALIDATION });
  });

// 13. bodies over 1 MiB
const MiB = 1024 * 1024;
const oversize = fc
  .tuple(
    fc.integer({ min: MiB + 1, max: 3 * MiB }),
    fc.constantFrom("spaces", "string", "place", "bytes"),
    fc.constantFrom("search", "put"),
    targetId,
  )
  .map(([n, fill, target, id]) => {
    let body: Buffer;
    if (fill === "spaces") body = Buffer.alloc(n, " ");
    else if (fill === "bytes") body = Buffer.alloc(n, 0xab);
    else {
      const head =
        fill === "string"
          ? '{"near":{"point":[-74,40.7]},"filter":{"namePrefix":"'
          : '{"name":"x","category":"c","location":{"type":"Point","coordinates":[-74,40.7]},"properties":{"blob":"';
      const tail = fill === "string" ? '"}}' : '"}}';
      body = Buffer.from(head + "a".repeat(n - head.length - tail.length) + tail);
    }
    return target === "search"
      ? search("body > 1 MiB", body, { status: 400, codes: LIMIT })
      : put("body > 1 MiB", id, body, { status: 400, codes: LIMIT });
  });

// 14. invalid ids in paths
const idChars = fc.stringMatching(/^[a-z0-9]{0,10}$/);
const BAD_ESCAPES = [
  ...Array.from({ length: 32 }, (_, b) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`),
  "%20",
  "%7F",
  "%80",
  "%FF",
  "%C3%28",
  "%E0%A4%A",
  "%C3%A9",
  "%E2%80%8B",
  "%F0%9F%98%80",
  "%ZZ",
  "%",
  "%4",
  "%G1",
  "%%",
  "%u0041",
] as const;
const idMethod = fc.constantFrom("GET", "PUT", "DELETE") as fc.Arbitrary<Method>;
const idCase = (path: string, method: Method, body: Json): HttpCase => ({
  kind: "http",
  category: "invalid ids in paths",
  method,
  path,
  headers: method === "PUT" ? JSON_CT : {},
  ...(method === "PUT" ? { body: json(body) } : {}),
});
const invalidIds = fc.oneof(
  fc
    .tuple(fc.integer({ min: 129, max: 3000 }), idMethod, validPlace)
    .map(([n, m, p]) => idCase(`/v1/places/${"k".repeat(n)}`, m, p)),
  fc
    .tuple(idChars, fc.constantFrom(...BAD_ESCAPES), idChars, idMethod, validPlace)
    .map(([a, esc, b, m, p]) => idCase(`/v1/places/${a}${esc}${b}`, m, p)),
  fc.tuple(idMethod, validPlace).map(([m, p]) => idCase("/v1/places/", m, p)),
);
/** Ids of 101–128 characters are valid ids: asking for an unknown one is a 404, like any other. */
const longValidIds = fc
  .tuple(
    fc.integer({ min: 101, max: 128 }),
    fc.constantFrom("GET", "DELETE") as fc.Arbitrary<Method>,
  )
  .map(([n, m]): HttpCase => ({
    kind: "http",
    category: "unknown ids of 101-128 characters",
    method: m,
    path: `/v1/places/${"q".repeat(n)}`,
    headers: {},
    expect: { status: 404, codes: ["NOT_FOUND"] },
  }));

// 15. PUT whose body id differs from the path's
const idMismatch = fc
  .tuple(targetId, freshId, validPlace)
  .filter(([a, b]) => a !== b)
  .map(([pathId, bodyId, p]) =>
    put("body id differs from path", pathId, json(setAt(p, ["id"], bodyId)), {
      status: 400,
      codes: VALIDATION,
    }),
  );

// 16. PUT in the middle of an ocean: more than 50 km from every region
const oceanPoint = fc.oneof(
  fc.tuple(
    fc.double({ min: -45, max: -30, noNaN: true }),
    fc.double({ min: 20, max: 40, noNaN: true }),
  ),
  fc.tuple(
    fc.double({ min: -130, max: -110, noNaN: true }),
    fc.double({ min: -40, max: -20, noNaN: true }),
  ),
  fc.tuple(
    fc.double({ min: 60, max: 90, noNaN: true }),
    fc.double({ min: -40, max: -10, noNaN: true }),
  ),
);
const ocean = fc.tuple(freshId, validPlace, oceanPoint).map(([id, p, [lng, lat]]) =>
  put(
    "PUT in the ocean",
    id,
    json(setAt(p, ["location", "coordinates"], [round6(lng), round6(lat)])),
    {
      status: 422,
      codes: ["GEO_OUT_OF_REGION"],
    },
  ),
);

// 17. POST /v1/places/bulk (NDJSON) where every line is bad
const bulkId = fc.stringMatching(/^[a-z0-9]{1,12}$/).map((s) => `bulk-${s}`);
const badLine: fc.Arbitrary<string> = fc.oneof(
  invalidJsonBody
    .map((b) => b.toString("utf8").replace(/[\r\n]/g, " "))
    .filter((s) => isInvalidJson(Buffer.from(s))),
  fc.constantFrom("1", '"x"', "[]", "null", "true", "{}", "[{}]"),
  fc
    .tuple(bulkId, validPlace, fc.constantFrom(...PLACE_FIELDS.filter(([p]) => p[0] !== "id")))
    .chain(([id, p, [path, kind]]) =>
      wrongFor(kind).map((v) => {
        const base = path[0] === "tags" && path.length > 1 ? setAt(p, ["tags"], ["a"]) : p;
        return JSON.stringify(setAt(setAt(base, ["id"], id), path, v));
      }),
    ),
  fc
    .tuple(bulkId, validPlace)
    .chain(([id, p]) => injectAnywhere(setAt(p, ["id"], id)))
    .map((b) => JSON.stringify(b)),
  fc
    .tuple(bulkId, validPlace, badPosition)
    .map(([id, p, c]) =>
      JSON.stringify(setAt(setAt(p, ["id"], id), ["location", "coordinates"], c)),
    ),
  fc
    .tuple(bulkId, validPlace, oceanPoint)
    .map(([id, p, c]) =>
      JSON.stringify(setAt(setAt(p, ["id"], id), ["location", "coordinates"], c)),
    ),
  fc
    .tuple(fc.constantFrom(...SEEDED_IDS), validPlace, unknownName)
    .map(([id, p, name]) => JSON.stringify(setAt(setAt(p, ["id"], id), [name], 1))),
);
const bulkCase = (body: Buffer, headers: Record<string, string> = NDJSON_CT): HttpCase => ({
  kind: "http",
  category: "bulk NDJSON, every line bad",
  method: "POST",
  path: "/v1/places/bulk",
  headers,
  body,
});
const bulk = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.array(badLine, { minLength: 1, maxLength: 40 }),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
      )
      .map(([lines, eol, trailing]) => bulkCase(text(lines.join(eol) + (trailing ? eol : "")))),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.array(badLine, { minLength: 1, maxLength: 5 }),
        fc.constantFrom("text/plain", "application/xml", ""),
      )
      .map(([lines, ct]) =>
        bulkCase(text(lines.join("\n")), ct === "" ? {} : { "content-type": ct }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MiB + 1, max: 2 * MiB }).map((n) => {
      const line =
        '{"id":"bulk-big","name":"x","category":"c","location":{"type":"Point","coordinates":[999,0]}}\n';
      return bulkCase(Buffer.from(line.repeat(Math.ceil(n / line.length))));
    }),
  },
);

// 18. forged or misplaced cursors
const b64 = (v: unknown) =>
  Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const FORGED = [
  b64({ k: "n", d: -1, i: "a" }),
  b64({ k: "n", d: "NaN", i: "a" }),
  b64({ k: "n", d: 1e300, i: "a" }),
  b64({ k: "n", d: 1, i: "" }),
  b64({ k: "n", d: 1, i: "a b" }),
  b64({ k: "n", d: 1, i: "k".repeat(129) }),
  b64({ k: "n", d: 1, i: "a", x: 1 }),
  b64('{"k":"n","d":1,"i":"a","__proto__":{"x":1}}'),
  b64({ k: "i", i: 5 }),
  b64({ k: "x", i: "a" }),
  b64({}),
  b64([]),
  b64("null"),
  b64("not json"),
  "a+b/c==",
  "!!!!",
  "eyJ",
  "A".repeat(513),
];
const forgedCursor = fc.oneof(
  fc
    .tuple(landPoint, fc.constantFrom(...FORGED, b64({ k: "i", i: "seed-nyc" })))
    .map(([p, cursor]) =>
      search("forged cursors", json({ near: { point: p }, cursor }), { codes: VALIDATION }),
    ),
  fc
    .tuple(landPoint, size, fc.constantFrom(...FORGED, b64({ k: "n", d: 1, i: "seed-nyc" })))
    .map(([p, s, cursor]) =>
      search("forged cursors", json({ within: { geometry: square(p, s) }, cursor }), {
        codes: VALIDATION,
      }),
    ),
  fc
    .tuple(nearParams, fc.constantFrom(...FORGED, ""))
    .map(([params, cursor]) =>
      near("forged cursors", [...params, ["cursor", cursor]], { codes: VALIDATION }),
    ),
);

/** Per category: its generator and how many requests to draw. */
export const HTTP_CATEGORIES: readonly (readonly [fc.Arbitrary<HttpCase>, number])[] = [
  [invalidJson, 300],
  [wrongContentType, 200],
  [deepNesting, 150],
  [hugeValues, 250],
  [numberLike, 200],
  [wrongTypes, 400],
  [outOfRange, 250],
  [badPolygon, 280],
  [tooManyVertices, 20],
  [limits, 200],
  [injection, 300],
  [unknownFields, 300],
  [repeatedParams, 100],
  [oversize, 40],
  [invalidIds, 200],
  [longValidIds, 20],
  [idMismatch, 100],
  [ocean, 100],
  [bulk, 150],
  [forgedCursor, 100],
];

/** Every HTTP case, reproducible from `seed`. */
export function httpCases(seed: number): HttpCase[] {
  return HTTP_CATEGORIES.flatMap(([arb, n], i) => fc.sample(arb, { seed: seed + i, numRuns: n }));
}

// ---------------------------------------------------------------------------------------------
// Raw sockets

const CRLF = "\r\n";
const latin1 = (s: string) => Buffer.from(s, "latin1");
const rawCase = (category: string, s: string | Buffer, expect?: Expectation): RawCase => ({
  kind: "raw",
  category,
  chunks: [typeof s === "string" ? latin1(s) : s],
  ...(expect ? { expect } : {}),
});
const reqLine = (line: string, headers: readonly string[] = ["Host: 127.0.0.1"], body = "") =>
  `${line}${CRLF}${[...headers, "Connection: close"].join(CRLF)}${CRLF}${CRLF}${body}`;

const rawRequestLine = fc.oneof(
  fc
    .uint8Array({ minLength: 1, maxLength: 200 })
    .map((a) =>
      rawCase("raw: invalid request lines", Buffer.concat([Buffer.from(a), latin1(CRLF + CRLF)])),
    ),
  fc
    .constantFrom(
      "GARBAGE",
      "GET",
      "GET /v1/places/near",
      "GET /v1/places/near?lng=x HTTP/9.9",
      "GET /v1/places/near?lng=x HTTP/1.1 extra",
      "GET /v1/places/near?lng=x HTTP/1.1x",
      "GET /v1/places/near?lng=x HTTPS/1.1",
      "get /v1/places/near?lng=x HTTP/1.1",
      "FOO /v1/places/x HTTP/1.1",
      "G\u0000ET /v1/places/x HTTP/1.1",
      "GET  /v1/places/x  HTTP/1.1",
      "GET\t/v1/places/x\tHTTP/1.1",
      " GET /v1/places/x HTTP/1.1",
      "GET v1/places/x HTTP/1.1",
      "PUT /v1/places/x HTTP/1.1\rHost: x",
      "PRI * HTTP/2.0",
      "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003",
    )
    .map((line) => rawCase("raw: invalid request lines", reqLine(line))),
);
const rawHeaders = fc.oneof(
  fc
    .constantFrom(
      ["Host: 127.0.0.1", "Bad Header"],
      ["Host: 127.0.0.1", "X-A : b"],
      ["Host: 127.0.0.1", "X-(A): b"],
      ["Host: 127.0.0.1", "X-A: a\u0000b"],
      ["Host: 127.0.0.1", "X-A: a\rb"],
      ["Host: 127.0.0.1", "X-A: a", " folded"],
      ["Host: 127.0.0.1", ": empty-name"],
      ["Host: 127.0.0.1", "X-\u00ff: b"],
      [],
      ["Host: a", "Host: b"],
    )
    .map((headers) =>
      rawCase("raw: bad headers", reqLine("GET /v1/places/near?lng=x&lat=1 HTTP/1.1", headers)),
    ),
  fc
    .integer({ min: 17_000, max: 80_000 })
    .map((n) =>
      rawCase(
        "raw: bad headers",
        reqLine("GET /v1/places/near?lng=x HTTP/1.1", [
          "Host: 127.0.0.1",
          `X-Big: ${"b".repeat(n)}`,
        ]),
      ),
    ),
  fc
    .integer({ min: 17_000, max: 60_000 })
    .map((n) =>
      rawCase("raw: bad headers", reqLine(`GET /v1/places/near?lng=${"9".repeat(n)} HTTP/1.1`)),
    ),
);
const POST_SEARCH = "POST /v1/places/search HTTP/1.1";
const framing = (headers: readonly string[], body: string) =>
  rawCase(
    "raw: bad framing / chunked encoding",
    reqLine(POST_SEARCH, ["Host: 127.0.0.1", "Content-Type: application/json", ...headers], body),
  );
const rawFraming = fc.oneof(
  fc
    .constantFrom(
      ["zz", "{}"],
      ["-2", "{}"],
      ["ffffffffffffffffffff", "{}"],
      ["2;\u0000ext", "{}"],
      ["2 2", "{}"],
      ["0x2", "{}"],
      ["", "{}"],
    )
    .map(([size, data]) =>
      framing(["Transfer-Encoding: chunked"], `${size}${CRLF}${data}${CRLF}0${CRLF}${CRLF}`),
    ),
  fc.constant(framing(["Transfer-Encoding: chunked"], `2${CRLF}{}XX0${CRLF}${CRLF}`)),
  fc.constant(framing(["Transfer-Encoding: chunked"], `5${CRLF}{}${CRLF}0${CRLF}${CRLF}`)),
  fc.constant(
    framing(
      ["Content-Length: 2", "Transfer-Encoding: chunked"],
      `2${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
    ),
  ),
  fc.constant(framing(["Transfer-Encoding: gzip, chunked"], `2${CRLF}{}${CRLF}0${CRLF}${CRLF}`)),
  fc.constant(
    framing(["Transfer-Encoding: chunked, identity"], `2${CRLF}{}${CRLF}0${CRLF}${CRLF}`),
  ),
  fc.constant(
    framing(
      ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
      `2${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
    ),
  ),
  fc.constant(framing(["Content-Length: 2", "Content-Length: 3"], "{}")),
  fc.constant(framing(["Content-Length: abc"], "{}")),
  fc.constant(framing(["Content-Length: -1"], "{}")),
  fc.constant(framing(["Content-Length: 2, 2"], "{}")),
  fc.constant(framing(["Content-Length: 99999999999999999999999"], "{}")),
  // Declares 10 GB: refused on the declared length without reading it.
  fc.constant(framing(["Content-Length: 10000000000"], "{}")),
  // Valid chunking, over 1 MiB in total.
  fc.integer({ min: 65, max: 200 }).map((chunks) => {
    const piece = " ".repeat(16 * 1024);
    const body =
      Array.from(
        { length: chunks },
        () => `${piece.length.toString(16)}${CRLF}${piece}${CRLF}`,
      ).join("") + `0${CRLF}${CRLF}`;
    return rawCase(
      "raw: chunked body > 1 MiB",
      reqLine(
        POST_SEARCH,
        ["Host: 127.0.0.1", "Content-Type: application/json", "Transfer-Encoding: chunked"],
        body,
      ),
      { status: 400, codes: LIMIT },
    );
  }),
);
const rawPath = fc
  .tuple(
    idChars,
    fc.oneof(
      fc.integer({ min: 0, max: 0x20 }),
      fc.constant(0x7f),
      fc.integer({ min: 0x80, max: 0xff }),
    ),
    idChars,
    fc.constantFrom("GET", "PUT", "DELETE"),
    validPlace,
  )
  .map(([a, byte, b, method, p]) => {
    const body = method === "PUT" ? JSON.stringify(p) : "";
    const headers = [
      "Host: 127.0.0.1",
      ...(method === "PUT"
        ? ["Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`]
        : []),
    ];
    const line = Buffer.concat([
      latin1(`${method} /v1/places/${a}`),
      Buffer.from([byte]),
      latin1(`${b} HTTP/1.1`),
    ]);
    return rawCase(
      "raw: odd bytes in paths",
      Buffer.concat([
        line,
        latin1(CRLF + [...headers, "Connection: close"].join(CRLF) + CRLF + CRLF),
        Buffer.from(body),
      ]),
    );
  });

/** Raw-socket cases, reproducible from `seed`. */
export function rawCases(seed: number): RawCase[] {
  return (
    [
      [rawRequestLine, 80],
      [rawHeaders, 60],
      [rawFraming, 60],
      [rawPath, 60],
    ] as const
  ).flatMap(([arb, n], i) => fc.sample(arb, { seed: seed + 100 + i, numRuns: n }));
}

/** A slowloris connection: a request whose headers arrive a few bytes at a time and never end. */
export function slowlorisChunks(i: number): Buffer[] {
  const head = `POST /v1/places/search HTTP/1.1${CRLF}Host: 127.0.0.1${CRLF}Content-Type: application/json${CRLF}X-Slow-${i}: `;
  const chunks = [latin1(head)];
  for (let k = 0; k < 12; k++) chunks.push(latin1("a"));
  return chunks;
}
