import { setTimeout as sleep } from "node:timers/promises";
import { type ErrorCode, GeomeshError, isErrorCode, isGeomeshError } from "@geomesh/errors";
import { LIMITS, type PlaceInput } from "@geomesh/geo";
import { ReasonTally, type ReasonCount } from "./reason-tally.js";
import type { RowResult } from "./row-result.js";

/** Why a routable-looking place was refused before sending: no region owns it. */
/**
 * Places per `place.upsert` a load sends by default: one store transaction each. Measured through
 * `geomesh up` on 2 cores (docs/benchmarks.md), 2 000 loaded faster than 500 or 10 000; a
 * 10 000-place batch also holds a worker's event loop long enough to risk missed heartbeats.
 */
export const DEFAULT_LOAD_BATCH = 2000;

export const OUTSIDE_EVERY_REGION = "outside every region (more than 50 km from all)";

/** One item the sink refused while storing the rest of its batch. */
export interface ItemRejection {
  /** Position in the batch handed to `send`. */
  readonly index: number;
  readonly reason: string;
  readonly code?: ErrorCode;
}

/**
 * What the sink did with a batch. `accepted`: all stored. `partial`: all stored except the
 * listed items. `failed`: nothing stored; a retryable error is retried with backoff, a
 * validation-type error (400/409/422 codes) makes the loader split the batch to find the bad
 * rows, anything else refuses the whole batch with the error's message.
 */
export type BatchOutcome =
  | { readonly status: "accepted" }
  | { readonly status: "partial"; readonly rejected: readonly ItemRejection[] }
  | { readonly status: "failed"; readonly error: GeomeshError };

export interface RetryOptions {
  /** Further attempts after the first for a retryable failure (default 4). */
  readonly retries?: number;
  /** First backoff; doubles per attempt, with jitter (default 200 ms). */
  readonly baseDelayMs?: number;
  /** Cap on one backoff, also on a sink's `retryAfterMs` hint (default 5000 ms). */
  readonly maxDelayMs?: number;
}

export interface LoadProgress {
  readonly read: number;
  readonly accepted: number;
  readonly rejected: number;
}

export interface LoadOptions {
  /** The region owning a place (e.g. `regionMap.regionOf`), or undefined when none does. */
  readonly route: (place: PlaceInput) => string | undefined;
  /**
   * Stores one batch in one region, all-or-nothing unless it reports `partial`. Items of a batch
   * are in row order, and a place is never sent while an earlier batch holding its id is in
   * flight, so the last row for an id wins. May throw instead of returning `failed`.
   */
  readonly send: (region: string, places: PlaceInput[]) => Promise<BatchOutcome>;
  /** Places per batch, 1 to LIMITS.maxUpsertBatch (default DEFAULT_LOAD_BATCH). */
  readonly batchSize?: number;
  /** Batches in flight at once across all regions, 1 to 256 (default 4). */
  readonly concurrency?: number;
  /** Called as counts change (after each batch, every 1000 rows read, and at the end). */
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly retry?: RetryOptions;
}

export interface LoadSummary {
  readonly read: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Accepted places per region. */
  readonly byRegion: Record<string, number>;
  /** Why rows were refused, most frequent first, with example row numbers. */
  readonly reasons: readonly ReasonCount[];
}

/** Sink failures that concern the content of a batch: splitting it isolates the bad rows. */
const CONTENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "BAD_REQUEST",
  "VALIDATION_FAILED",
  "LIMIT_EXCEEDED",
  "GEO_INVALID_GEOMETRY",
  "GEO_OUT_OF_REGION",
  "CONFLICT",
  "UNPROCESSABLE",
]);

const PROGRESS_EVERY_ROWS = 1000;

interface Item {
  readonly row: number;
  readonly place: PlaceInput;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${name} must be a whole number from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

function asError(value: unknown): GeomeshError {
  if (isGeomeshError(value)) return value;
  // Local use only (the load summary), so the original message is kept.
  return new GeomeshError("INTERNAL", value instanceof Error ? value.message : String(value), {
    cause: value,
  });
}

/**
 * Loads rows into their owning regions: refused rows are counted with their reason, places are
 * routed (no owner → OUTSIDE_EVERY_REGION), grouped per region into batches and sent with
 * bounded concurrency; transient sink failures are retried with backoff, batch-level content
 * failures are split down to the bad rows. Bad rows never stop the load, and every row read
 * ends up accepted or rejected exactly once. If `rows` itself throws (an unreadable file), the
 * rows read so far are still sent, then the error is rethrown.
 */
export async function loadPlaces(
  rows: AsyncIterable<RowResult> | Iterable<RowResult>,
  options: LoadOptions,
): Promise<LoadSummary> {
  const batchSize = checkInt(
    "batchSize",
    options.batchSize ?? DEFAULT_LOAD_BATCH,
    1,
    LIMITS.maxUpsertBatch,
  );
  const concurrency = checkInt("concurrency", options.concurrency ?? 4, 1, 256);
  const retries = checkInt("retry.retries", options.retry?.retries ?? 4, 0, 100);
  const baseDelayMs = checkInt("retry.baseDelayMs", options.retry?.baseDelayMs ?? 200, 0, 600_000);
  const maxDelayMs = checkInt("retry.maxDelayMs", options.retry?.maxDelayMs ?? 5000, 0, 600_000);

  let read = 0;
  let accepted = 0;
  let rejected = 0;
  const byRegion = new Map<string, number>();
  const tally = new ReasonTally();
  const buffers = new Map<string, Item[]>();
  const inFlight = new Set<Promise<void>>();
  const idsInFlight = new Map<string, Promise<void>>();
  let fatal: { error: unknown } | undefined;

  const progress = (): void => {
    if (!options.onProgress || fatal) return;
    try {
      options.onProgress({ read, accepted, rejected });
    } catch (error) {
      fatal = { error };
    }
  };
  const reject = (row: number, code: ErrorCode, reason: string): void => {
    rejected += 1;
    tally.add(reason, code, row);
  };
  const accept = (region: string, count: number): void => {
    if (count === 0) return;
    accepted += count;
    byRegion.set(region, (byRegion.get(region) ?? 0) + count);
  };

  const backoff = (attempt: number, error: GeomeshError): number => {
    const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    const jittered = exp * (0.5 + Math.random() / 2);
    const hint = error.data?.retryAfterMs;
    return typeof hint === "number" && Number.isFinite(hint) && hint > 0
      ? Math.max(jittered, Math.min(hint, maxDelayMs))
      : jittered;
  };

  /** Sends one batch until it is settled: every item ends accepted or rejected. */
  const deliver = async (region: string, items: readonly Item[]): Promise<void> => {
    for (let attempt = 0; ; attempt += 1) {
      let outcome: BatchOutcome;
      try {
        outcome = await options.send(
          region,
          items.map((i) => i.place),
        );
      } catch (error) {
        outcome = { status: "failed", error: asError(error) };
      }
      switch (outcome?.status) {
        case "accepted":
          accept(region, items.length);
          return;
        case "partial": {
          // Indexes out of range or repeated are ignored, so each item is counted exactly once.
          const refused = new Map<number, ItemRejection>();
          const list: readonly ItemRejection[] = Array.isArray(outcome.rejected)
            ? outcome.rejected
            : [];
          for (const r of list) {
            if (
              Number.isInteger(r.index) &&
              r.index >= 0 &&
              r.index < items.length &&
              !refused.has(r.index)
            )
              refused.set(r.index, r);
          }
          for (const [index, r] of refused) {
            reject(
              items[index]!.row,
              isErrorCode(r.code) ? r.code : "VALIDATION_FAILED",
              String(r.reason),
            );
          }
          accept(region, items.length - refused.size);
          return;
        }
        case "failed": {
          const error = asError(outcome.error);
          if (error.retryable) {
            if (attempt < retries) {
              await sleep(backoff(attempt, error));
              continue;
            }
            const reason = `${error.message} (gave up after ${attempt + 1} attempts)`;
            for (const item of items) reject(item.row, error.code, reason);
            return;
          }
          if (CONTENT_CODES.has(error.code) && items.length > 1) {
            const mid = Math.ceil(items.length / 2);
            await deliver(region, items.slice(0, mid));
            await deliver(region, items.slice(mid));
            return;
          }
          for (const item of items) reject(item.row, error.code, error.message);
          return;
        }
        default: {
          const reason = "the sink returned an unrecognised batch outcome";
          for (const item of items) reject(item.row, "INTERNAL", reason);
          return;
        }
      }
    }
  };

  const routeOf = (place: PlaceInput): string | undefined | GeomeshError => {
    try {
      return options.route(place);
    } catch (error) {
      return asError(error);
    }
  };

  const dispatch = async (region: string, items: Item[]): Promise<void> => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    // An id still in flight in an earlier batch must land first, so the last row wins.
    const earlier = new Set<Promise<void>>();
    for (const { place } of items) {
      const pending = idsInFlight.get(place.id);
      if (pending) earlier.add(pending);
    }
    const task = (async () => {
      if (earlier.size > 0) await Promise.all(earlier);
      try {
        await deliver(region, items);
      } catch (error) {
        fatal ??= { error }; // only a bug gets here: deliver settles every item itself
      }
      progress();
    })();
    for (const { place } of items) idsInFlight.set(place.id, task);
    inFlight.add(task);
    void task.then(() => {
      inFlight.delete(task);
      for (const { place } of items)
        if (idsInFlight.get(place.id) === task) idsInFlight.delete(place.id);
    });
  };

  let sourceError: { error: unknown } | undefined;
  try {
    for await (const result of rows) {
      read += 1;
      if (!result.ok) {
        reject(result.row, result.code, result.reason);
      } else {
        const region = routeOf(result.place);
        if (typeof region !== "string") {
          reject(
            result.row,
            "GEO_OUT_OF_REGION",
            region === undefined ? OUTSIDE_EVERY_REGION : `routing failed: ${region.message}`,
          );
        } else {
          let buffer = buffers.get(region);
          if (!buffer) {
            buffer = [];
            buffers.set(region, buffer);
          }
          buffer.push({ row: result.row, place: result.place });
          if (buffer.length >= batchSize) {
            buffers.delete(region);
            await dispatch(region, buffer);
          }
        }
      }
      if (read % PROGRESS_EVERY_ROWS === 0) progress();
      if (fatal) break;
    }
  } catch (error) {
    sourceError = { error };
  }
  if (!fatal) {
    for (const [region, buffer] of buffers) await dispatch(region, buffer);
  }
  buffers.clear();
  while (inFlight.size > 0) await Promise.all(inFlight);
  if (fatal) throw fatal.error;
  if (sourceError) throw sourceError.error;
  progress();
  return {
    read,
    accepted,
    rejected,
    byRegion: Object.fromEntries(
      [...byRegion.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ),
    reasons: tally.list(),
  };
}
