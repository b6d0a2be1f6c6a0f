/**
 * The storage contract every region store implements (embedded SQLite, MongoDB). Queries arrive
 * already parsed and validated by `@geomesh/geo`; a store answers them with MongoDB's 2dsphere
 * semantics (spherical metres on a 6 378 100 m sphere, geodesic edges, inclusive boundaries) and
 * the orders fixed by the model: near by (distance, id), everything else by id.
 */
import type {
  AggregateQuery,
  CountQuery,
  GridCounts,
  IntersectsQuery,
  LngLat,
  MovedTo,
  NearQuery,
  Page,
  Place,
  PlaceInput,
  WithinQuery,
} from "@geomesh/geo";
import type { Logger } from "@geomesh/logger";

/**
 * One committed write, numbered in the region's commit order: `seq` is 1, 2, 3, … per store,
 * assigned in the same transaction as the write (the store keeps recent changes, an outbox that
 * `changesSince` reads), so live feeds can publish in order and notice a gap.
 */
export interface PlaceChange {
  readonly seq: number;
  readonly kind: "created" | "updated" | "deleted";
  /** The place after the write; for `deleted`, the place as it was removed. */
  readonly place: Place;
  /** For `updated`: where the place was before the write. */
  readonly previous?: LngLat;
  /** Set when the change is half of a move across regions (kept in the outbox with it). */
  readonly move?: ChangeMove;
  /** Commit time (ISO 8601). */
  readonly at: string;
}

/**
 * Marks a change as half of a move across regions (the coordinator says so). The store keeps it
 * with the change, so a change re-read from the outbox (`changesSince`) makes the same event as
 * the one announced at commit.
 */
export interface ChangeMove {
  /** The place came from this region (its upsert here). */
  readonly movedFrom?: string;
  /** Where it was there. */
  readonly previous?: LngLat;
  /** The place left for another region (its removal here). */
  readonly movedTo?: MovedTo;
}

/** Options of `upsert`. */
export interface UpsertOptions {
  /** Per place id: the move its write completes. */
  readonly moves?: Readonly<Record<string, ChangeMove>>;
}

/** Options of `delete`. */
export interface DeleteOptions {
  /** The move this removal starts. */
  readonly move?: ChangeMove;
}

/** Which changes the outbox holds now: `first`..`last` (both 0 when it is empty). */
export interface ChangeRange {
  readonly first: number;
  readonly last: number;
}

/** What an upsert did to one item of its batch, in input order. */
export interface UpsertOutcome {
  readonly id: string;
  /** `created` when no place had the id before this item, else `updated`. */
  readonly status: "created" | "updated";
  readonly change: PlaceChange;
}

/** Changes every store keeps for `changesSince` (older ones may be pruned). */
export const CHANGES_KEPT = 100_000;

/** Size of a store. `bytes` is the on-disk size when the backend reports one. */
export interface StoreStats {
  readonly count: number;
  readonly bytes?: number;
}

/** Options every adapter accepts. */
export interface StoreOptions {
  /** Region the store holds (used for naming and logs). */
  readonly region: string;
  /** Parent logger; adapters log through a child. Defaults to a silent logger. */
  readonly logger?: Logger;
}

/**
 * One region's places. `init()` must be called before anything else; `init()` and `close()` are
 * idempotent. Failures are `GeomeshError`s (STORE_UNAVAILABLE, STORE_TIMEOUT, CONFLICT,
 * GEO_INVALID_GEOMETRY, VALIDATION_FAILED, INTERNAL) whose messages never echo stored documents.
 */
export interface GeoStore {
  /** Adapter name, e.g. `sqlite` or `mongodb`. */
  readonly kind: string;
  /** Opens the backend and ensures schema and indexes. */
  init(): Promise<void>;
  /** Nearest first, ordered by (distance, id); `next` when more hits follow. */
  near(query: NearQuery): Promise<Page>;
  /** Places inside a polygon, box or circle, ordered by id; `next` when more hits follow. */
  within(query: WithinQuery): Promise<Page>;
  /** Places whose point intersects a geometry, ordered by id; `next` when more hits follow. */
  intersects(query: IntersectsQuery): Promise<Page>;
  /** Number of places in a selection that pass the filter. */
  count(query: CountQuery): Promise<number>;
  /** Grid counts over a box (binned with `aggregateCellOf`, so every store agrees). */
  aggregate(query: AggregateQuery): Promise<GridCounts>;
  /**
   * Inserts or replaces a batch atomically: every place is validated first and one invalid place
   * writes nothing. `updatedAt` defaults to the time of the write. Returns one outcome per item.
   */
  upsert(places: readonly PlaceInput[], options?: UpsertOptions): Promise<UpsertOutcome[]>;
  /** The place with this id, or `undefined`. */
  get(id: string): Promise<Place | undefined>;
  /** Removes a place; its change when it existed, else `undefined`. */
  delete(id: string, options?: DeleteOptions): Promise<PlaceChange | undefined>;
  /**
   * Changes after `seq`, oldest first, at most `limit`. The store keeps at least the last
   * `CHANGES_KEPT` changes; older ones may be gone (the first returned `seq` then jumps).
   */
  changesSince(seq: number, limit: number): Promise<PlaceChange[]>;
  /** The oldest and newest change the outbox holds (a worker's sweep compares it with its broker's). */
  changeRange(): Promise<ChangeRange>;
  /** Count of places and, when known, bytes on disk. */
  stats(): Promise<StoreStats>;
  /** Releases connections and handles. */
  close(): Promise<void>;
}
