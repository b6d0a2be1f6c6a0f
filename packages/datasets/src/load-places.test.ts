import { setTimeout as sleep } from "node:timers/promises";
import { GeomeshError } from "@geomesh/errors";
import type { PlaceInput } from "@geomesh/geo";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  loadPlaces,
  OUTSIDE_EVERY_REGION,
  type BatchOutcome,
  type LoadOptions,
} from "./load-places.js";
import { rejectRow, type RowResult } from "./row-result.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

const place = (id: string, lng: number, lat = 40): PlaceInput => ({
  id,
  name: id,
  category: "c",
  location: { type: "Point", coordinates: [lng, lat] },
  tags: [],
  properties: {},
});
const good = (row: number, id: string, lng: number): RowResult => ({
  ok: true,
  row,
  place: place(id, lng),
});
const bad = (row: number, reason = "bad row"): RowResult =>
  rejectRow(row, "VALIDATION_FAILED", reason);

/** West of -100° is W, east of it E, east of 0° nobody's. */
const route = (p: PlaceInput): string | undefined => {
  const lng = p.location.coordinates[0];
  return lng > 0 ? undefined : lng < -100 ? "W" : "E";
};

async function* stream(rows: readonly RowResult[]): AsyncGenerator<RowResult> {
  for (const row of rows) {
    await Promise.resolve();
    yield row;
  }
}

/** The loader's sink contract, in process: decides an outcome per call and records what it stored. */
class RecordingSink {
  readonly calls: { region: string; ids: string[] }[] = [];
  readonly stored: { region: string; ids: string[] }[] = [];
  active = 0;
  maxActive = 0;

  constructor(
    private readonly decide: (
      region: string,
      places: PlaceInput[],
      call: number,
    ) => BatchOutcome | Promise<BatchOutcome> = () => ({ status: "accepted" }),
  ) {}

  readonly send = async (region: string, places: PlaceInput[]): Promise<BatchOutcome> => {
    const ids = places.map((p) => p.id);
    this.calls.push({ region, ids });
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const outcome = await this.decide(region, places, this.calls.length);
      if (outcome.status === "accepted") this.stored.push({ region, ids });
      if (outcome.status === "partial") {
        const refused = new Set(outcome.rejected.map((r) => r.index));
        this.stored.push({ region, ids: ids.filter((_, i) => !refused.has(i)) });
      }
      return outcome;
    } finally {
      this.active -= 1;
    }
  };

  storedIds(): string[] {
    return this.stored.flatMap((b) => b.ids);
  }
}

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 2 } } satisfies Partial<LoadOptions>;

describe("loadPlaces", () => {
  it("groups places by owning region and sends them in batches, in row order", async () => {
    const rows = [
      good(1, "a", -120),
      good(2, "b", -80),
      good(3, "c", -121),
      good(4, "d", -122),
      good(5, "e", -79),
      good(6, "f", -123),
    ];
    const sink = new RecordingSink();
    const summary = await loadPlaces(stream(rows), { route, send: sink.send, batchSize: 2 });
    expect(sink.calls).toEqual([
      { region: "W", ids: ["a", "c"] },
      { region: "E", ids: ["b", "e"] },
      { region: "W", ids: ["d", "f"] },
    ]);
    expect(summary).toEqual({
      read: 6,
      accepted: 6,
      rejected: 0,
      byRegion: { E: 2, W: 4 },
      reasons: [],
    });
  });

  it("sends a final partial batch per region and accepts a sync iterable", async () => {
    const sink = new RecordingSink();
    const summary = await loadPlaces([good(1, "a", -120), good(2, "b", -80), good(3, "c", -121)], {
      route,
      send: sink.send,
    });
    expect(sink.calls).toEqual([
      { region: "W", ids: ["a", "c"] },
      { region: "E", ids: ["b"] },
    ]);
    expect(summary.accepted).toBe(3);
  });

  it("keeps at most `concurrency` batches in flight", async () => {
    const sink = new RecordingSink(async () => {
      await sleep(5);
      return { status: "accepted" };
    });
    const rows = Array.from({ length: 60 }, (_, i) => good(i + 1, `p${i}`, i % 2 ? -120 : -80));
    const summary = await loadPlaces(stream(rows), {
      route,
      send: sink.send,
      batchSize: 3,
      concurrency: 3,
    });
    expect(summary.accepted).toBe(60);
    expect(sink.maxActive).toBe(3);
  });

  it("refuses rows no region owns and rows the reader refused, with reasons and example rows", async () => {
    const rows = [
      good(1, "a", -120),
      good(2, "x", 10),
      bad(3, "name: is required"),
      good(4, "y", 20),
      bad(5, "name: is required"),
      good(6, "z", 30),
    ];
    const sink = new RecordingSink();
    const summary = await loadPlaces(stream(rows), { route, send: sink.send });
    expect(summary).toEqual({
      read: 6,
      accepted: 1,
      rejected: 5,
      byRegion: { W: 1 },
      reasons: [
        { reason: OUTSIDE_EVERY_REGION, code: "GEO_OUT_OF_REGION", count: 3, examples: [2, 4, 6] },
        { reason: "name: is required", code: "VALIDATION_FAILED", count: 2, examples: [3, 5] },
      ],
    });
    expect(sink.storedIds()).toEqual(["a"]);
  });

  it("counts a routing function that throws as a refused row", async () => {
    const summary = await loadPlaces(stream([good(1, "a", -120)]), {
      route: () => {
        throw new Error("polygon index not ready");
      },
      send: new RecordingSink().send,
    });
    expect(summary.reasons).toEqual([
      {
        reason: "routing failed: polygon index not ready",
        code: "GEO_OUT_OF_REGION",
        count: 1,
        examples: [1],
      },
    ]);
  });

  it("accepts a batch except the items the sink refuses", async () => {
    const sink = new RecordingSink(() => ({
      status: "partial",
      rejected: [
        { index: 1, reason: "conflict on id", code: "CONFLICT" },
        { index: 1, reason: "again" },
        { index: 9, reason: "out of range" },
      ],
    }));
    const summary = await loadPlaces(
      stream([good(1, "a", -120), good(2, "b", -121), good(3, "c", -122)]),
      { route, send: sink.send },
    );
    expect(summary).toMatchObject({
      accepted: 2,
      rejected: 1,
      byRegion: { W: 2 },
      reasons: [{ reason: "conflict on id", code: "CONFLICT", examples: [2] }],
    });
  });

  it("retries a retryable failure with backoff until it succeeds", async () => {
    const sink = new RecordingSink((_r, _p, call) =>
      call <= 2
        ? {
            status: "failed",
            error: new GeomeshError("QUEUE_FULL", "queue is full", { data: { retryAfterMs: 1 } }),
          }
        : { status: "accepted" },
    );
    const summary = await loadPlaces(stream([good(1, "a", -120), good(2, "b", -121)]), {
      route,
      send: sink.send,
      ...fast,
    });
    expect(sink.calls).toHaveLength(3);
    expect(summary).toMatchObject({ accepted: 2, rejected: 0 });
    expect(sink.storedIds()).toEqual(["a", "b"]);
  });

  it("gives up after the allowed retries and refuses the rows with the error's message", async () => {
    const sink = new RecordingSink(() => ({
      status: "failed",
      error: new GeomeshError("STORE_UNAVAILABLE", "store NE is unreachable"),
    }));
    const summary = await loadPlaces(stream([good(1, "a", -80), good(2, "b", -81)]), {
      route,
      send: sink.send,
      retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    expect(sink.calls).toHaveLength(3);
    expect(summary).toMatchObject({
      accepted: 0,
      rejected: 2,
      reasons: [
        {
          reason: "store NE is unreachable (gave up after 3 attempts)",
          code: "STORE_UNAVAILABLE",
          count: 2,
          examples: [1, 2],
        },
      ],
    });
  });

  it("splits a batch the sink refuses as invalid until the bad rows are isolated, storing nothing half-written", async () => {
    const poison = new Set(["p3", "p11"]);
    const sink = new RecordingSink((_r, places) => {
      const hit = places.findIndex((p) => poison.has(p.id));
      return hit === -1
        ? { status: "accepted" }
        : {
            status: "failed",
            error: new GeomeshError("VALIDATION_FAILED", `places[${hit}].name: too long`),
          };
    });
    const rows = Array.from({ length: 16 }, (_, i) => good(i + 1, `p${i}`, -120));
    const summary = await loadPlaces(stream(rows), { route, send: sink.send, batchSize: 8 });
    expect(summary).toMatchObject({ read: 16, accepted: 14, rejected: 2 });
    expect(summary.reasons).toEqual([
      {
        reason: "places[0].name: too long",
        code: "VALIDATION_FAILED",
        count: 2,
        examples: [4, 12],
      },
    ]);
    expect(sink.storedIds().sort()).toEqual(
      rows
        .map((_, i) => `p${i}`)
        .filter((id) => !poison.has(id))
        .sort(),
    );
    for (const batch of sink.stored) expect(batch.ids.some((id) => poison.has(id))).toBe(false);
  });

  it("refuses a whole batch without splitting on a non-retryable failure that is not about content", async () => {
    const sink = new RecordingSink(() => ({
      status: "failed",
      error: new GeomeshError("REGION_NOT_FOUND", "region W is not configured"),
    }));
    const summary = await loadPlaces(
      stream([good(1, "a", -120), good(2, "b", -121), good(3, "c", -122)]),
      { route, send: sink.send },
    );
    expect(sink.calls).toHaveLength(1);
    expect(summary.reasons).toEqual([
      {
        reason: "region W is not configured",
        code: "REGION_NOT_FOUND",
        count: 3,
        examples: [1, 2, 3],
      },
    ]);
  });

  it("treats a sink that throws, or answers nonsense, as a failed batch", async () => {
    const throwing = await loadPlaces(stream([good(1, "a", -120)]), {
      route,
      send: () => Promise.reject(new Error("socket closed")),
    });
    expect(throwing.reasons).toEqual([
      { reason: "socket closed", code: "INTERNAL", count: 1, examples: [1] },
    ]);
    const nonsense = await loadPlaces(stream([good(1, "a", -120)]), {
      route,
      send: () => Promise.resolve({ status: "maybe" } as unknown as BatchOutcome),
    });
    expect(nonsense.reasons).toEqual([
      {
        reason: "the sink returned an unrecognised batch outcome",
        code: "INTERNAL",
        count: 1,
        examples: [1],
      },
    ]);
  });

  it("sends a place only after an earlier batch with the same id has landed, so the last row wins", async () => {
    const events: string[] = [];
    const sink = new RecordingSink(async (_r, places) => {
      const ids = places.map((p) => p.id).join(",");
      events.push(`start ${ids}`);
      await sleep(ids === "a,b" ? 30 : 1);
      events.push(`end ${ids}`);
      return { status: "accepted" };
    });
    const rows = [
      good(1, "a", -120),
      good(2, "b", -120),
      good(3, "c", -120),
      good(4, "a", -120),
      good(5, "d", -120),
      good(6, "e", -120),
    ];
    await loadPlaces(stream(rows), { route, send: sink.send, batchSize: 2, concurrency: 4 });
    expect(events.indexOf("start c,a")).toBeGreaterThan(events.indexOf("end a,b"));
    expect(events.indexOf("start d,e")).toBeLessThan(events.indexOf("end a,b")); // unrelated batches do not wait
  });

  it("reports progress as it goes and ends with the summary's counts", async () => {
    const seen: { read: number; accepted: number; rejected: number }[] = [];
    const rows = Array.from({ length: 2500 }, (_, i) =>
      i % 10 === 0 ? bad(i + 1) : good(i + 1, `p${i}`, -120),
    );
    const summary = await loadPlaces(stream(rows), {
      route,
      send: new RecordingSink().send,
      onProgress: (p) => seen.push(p),
    });
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.at(-1)).toEqual({ read: 2500, accepted: 2250, rejected: 250 });
    expect(summary).toMatchObject(seen.at(-1)!);
    for (let i = 1; i < seen.length; i += 1)
      expect(seen[i]!.read).toBeGreaterThanOrEqual(seen[i - 1]!.read);
  });

  it("stops reading and rethrows when the progress callback throws, after in-flight batches settle", async () => {
    const sink = new RecordingSink(async () => {
      await sleep(2);
      return { status: "accepted" };
    });
    const rows = Array.from({ length: 5000 }, (_, i) => good(i + 1, `p${i}`, -120));
    const onProgress = (): void => {
      throw new Error("terminal closed");
    };
    await expect(
      loadPlaces(stream(rows), { route, send: sink.send, batchSize: 10, onProgress }),
    ).rejects.toThrow("terminal closed");
    expect(sink.active).toBe(0);
    expect(sink.storedIds().length).toBeLessThan(5000);
  });

  it("sends the rows read before the source fails, then rethrows the source's error", async () => {
    async function* failing(): AsyncGenerator<RowResult> {
      yield* stream([good(1, "a", -120)]);
      yield good(2, "b", -80);
      throw new GeomeshError("VALIDATION_FAILED", "CSV header has no lat column");
    }
    const sink = new RecordingSink();
    await expect(loadPlaces(failing(), { route, send: sink.send })).rejects.toMatchObject({
      message: "CSV header has no lat column",
    });
    expect(sink.storedIds().sort()).toEqual(["a", "b"]);
  });

  it("refuses out-of-range options with CONFIG_INVALID", async () => {
    const sink = new RecordingSink();
    await expect(loadPlaces([], { route, send: sink.send, batchSize: 0 })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
    await expect(
      loadPlaces([], { route, send: sink.send, batchSize: 10_001 }),
    ).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    await expect(
      loadPlaces([], { route, send: sink.send, concurrency: Number.NaN }),
    ).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it(
    "accounts for every row exactly once whatever mix of good and bad rows and sink failures",
    HEAVY,
    async () => {
      type Kind = "good" | "badRow" | "outside" | "itemRefused" | "poison" | "flaky";
      const kinds = fc.array(
        fc.constantFrom<Kind>(
          "good",
          "good",
          "good",
          "badRow",
          "outside",
          "itemRefused",
          "poison",
          "flaky",
        ),
        { maxLength: 120 },
      );
      await fc.assert(
        fc.asyncProperty(
          kinds,
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 4 }),
          async (mix, batchSize, concurrency) => {
            const rows: RowResult[] = mix.map((kind, i) => {
              const row = i + 1;
              const lng = kind === "outside" ? 10 : i % 3 === 0 ? -120 : -80;
              return kind === "badRow"
                ? bad(row)
                : { ok: true, row, place: { ...place(`${kind}-${i}`, lng), category: kind } };
            });
            const flakyCalls = new Map<string, number>();
            const sink = new RecordingSink((_region, places): BatchOutcome => {
              if (places.some((p) => p.category === "poison"))
                return { status: "failed", error: new GeomeshError("UNPROCESSABLE", "poison") };
              const key = places.map((p) => p.id).join(",");
              if (places.some((p) => p.category === "flaky") && (flakyCalls.get(key) ?? 0) < 1) {
                flakyCalls.set(key, (flakyCalls.get(key) ?? 0) + 1);
                return {
                  status: "failed",
                  error: new GeomeshError("BROKER_UNAVAILABLE", "try again"),
                };
              }
              const rejected = places.flatMap((p, index) =>
                p.category === "itemRefused" ? [{ index, reason: "refused" }] : [],
              );
              return rejected.length > 0 ? { status: "partial", rejected } : { status: "accepted" };
            });
            const summary = await loadPlaces(stream(rows), {
              route,
              send: sink.send,
              batchSize,
              concurrency,
              ...fast,
            });
            const expectedStored = rows
              .filter((r) => r.ok && ["good", "flaky"].includes(r.place.category))
              .map((r) => (r.ok ? r.place.id : ""));
            expect(summary.read).toBe(rows.length);
            expect(summary.accepted + summary.rejected).toBe(summary.read);
            expect(summary.accepted).toBe(expectedStored.length);
            expect(Object.values(summary.byRegion).reduce((a, b) => a + b, 0)).toBe(
              summary.accepted,
            );
            expect(summary.reasons.reduce((a, r) => a + r.count, 0)).toBe(summary.rejected);
            const stored = sink.storedIds();
            expect(new Set(stored).size).toBe(stored.length); // sent and stored exactly once
            expect(stored.sort()).toEqual(expectedStored.sort());
          },
        ),
        { numRuns: 150 },
      );
    },
  );
});
