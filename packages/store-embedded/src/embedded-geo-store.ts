/**
 * The embedded region store: one durable SQLite file per region (better-sqlite3, WAL), a Hilbert
 * cell B-tree index as the spatial pre-filter, and exact spherical predicates from `@geomesh/geo`
 * on every candidate — so answers equal MongoDB's 2dsphere semantics and the brute-force oracle.
 *
 * Query plan for every geo query: shape → padded lng/lat rectangles (split at the antimeridian,
 * full-longitude at the poles) → Hilbert key ranges → one index range scan (the index is covering
 * for cell, lng, lat) → exact test → rows of the hits. Boxes are tested exactly in SQL, circles
 * and near distances with a SQL haversine identical to `distanceMeters` (see `distance-sql.ts`),
 * polygons and other geometries in JS with `@geomesh/geo`. kNN: see `nearIn`. Every read runs in
 * one read transaction, so a query sees one snapshot even while other processes write.
 */
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { GeomeshError } from "@geomesh/errors";
import {
  type AggregateQuery,
  boxBounds,
  circleBounds,
  compareIds,
  compareNear,
  countPositions,
  type CountQuery,
  distanceMeters,
  EARTH_RADIUS_M,
  encodeIdCursor,
  encodeNearCursor,
  geometryBounds,
  type Box,
  type Filter,
  type GridCounts,
  type IntersectsGeometry,
  type IntersectsQuery,
  type LngLat,
  type NearQuery,
  type Page,
  type Place,
  type PlaceHit,
  type PlaceInput,
  pointIntersects,
  prepareGeometry,
  pointInShape,
  type Shape,
  shapeBounds,
  type WithinQuery,
} from "@geomesh/geo";
import { type Logger, silentLogger } from "@geomesh/logger";
import {
  CHANGES_KEPT,
  type ChangeMove,
  type ChangeRange,
  type DeleteOptions,
  type GeoStore,
  type PlaceChange,
  preparePlaces,
  type StoreOptions,
  type StoreStats,
  type UpsertOptions,
  type UpsertOutcome,
} from "@geomesh/store";
import { DENSITY_SAMPLE_SIZE, DensityModel } from "./density-model.js";
import { filterSql, type FilterSql, type SqlParams } from "./filter-sql.js";
import { CellIndex, type IndexHit } from "./cell-index.js";
import { MemoryRows, type PlaceRow } from "./memory-rows.js";
import { type CellRange, cellOf, cellRanges } from "./hilbert-cell.js";
import { classifySqliteError, isSqliteBusy } from "./sqlite-errors.js";
import { migrate } from "./sqlite-schema.js";
import { WalHeaderWatch } from "./wal-header.js";

/** Options of the embedded store. */
export interface EmbeddedStoreOptions extends StoreOptions {
  /** File path, or `:memory:` (tests only). */
  readonly path: string;
  /**
   * `full` (default): every commit fsyncs the WAL, so an acknowledged write survives a power cut
   * or OS crash. `normal`: fsync only at checkpoints — survives a killed process, but the last
   * commits may roll back on power loss.
   */
  readonly synchronous?: "full" | "normal";
  /** How long a writer waits for another process's write lock before STORE_TIMEOUT (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** Page cache per connection in KiB (default 32 MiB). */
  readonly cacheSizeKiB?: number;
  /** Bytes of the file to memory-map for reads (default 0 = off). */
  readonly mmapBytes?: number;
  /**
   * Page size of a new file in bytes (a power of two, 512–65 536; default 16 384). A file that
   * exists keeps the size it was made with. Bulk loads touch pages all over the random-order
   * cell index; larger pages mean fewer of them per batch.
   */
  readonly pageSize?: number;
  /**
   * WAL pages after which a commit checkpoints them into the file (default 10 000 ≈ 160 MiB with
   * 16 KiB pages; SQLite's own default is 1000). Bulk loads into random-order indexes dirty the
   * same pages again and again: fewer checkpoints copy each page fewer times. The WAL file may
   * grow to about this size.
   */
  readonly walCheckpointPages?: number;
  /**
   * Keep the cell index in memory for kNN (default true): loaded from the file at open, about 43
   * bytes per place. `false` answers every near() from the file's B-tree (the plan other queries use).
   */
  readonly memoryIndex?: boolean;
  /**
   * With the memory index, keep the places' rows in memory too (default true): filled from the
   * file at open and kept in step with it like the index, one string per place (~157 MB for the
   * store benchmark's 1M places). Every query then reads its hits' rows from memory instead of
   * one B-tree descent each. `false` reads them from the file.
   */
  readonly memoryRows?: boolean;
}

/** Counters of the work queries did since the store was opened, for tests and benchmarks. */
export interface EmbeddedQueryStats {
  /** Index range scans (one per pass of a query). */
  scans: number;
  /** Candidate rows the index returned (before the exact test). */
  candidates: number;
  /** Time near() spent finding its hits in the index (keys and distances, no rows), ms. */
  nearIndexMs: number;
  /** Time near() spent reading and decoding the rows of its hits, ms. */
  nearRowsMs: number;
}

type PointRow = [pk: number, lng: number, lat: number];
type IdPointRow = [pk: number, id: string, lng: number, lat: number];
/** A place found in the cell index: its pk and the position its entry carries. */
type IndexedPoint = Pick<IndexHit, "pk" | "lng" | "lat">;
type Statement<P extends unknown[], R> = Database.Statement<P, R>;
/** A statement run with named parameters only. */
type NamedStatement<R> = Database.Statement<[SqlParams], R>;

const HALF_CIRCUMFERENCE = Math.PI * EARTH_RADIUS_M;
const PLACE_COLUMNS =
  "p.pk, p.id, p.name, p.category, p.lng, p.lat, p.tags, p.properties, p.updated_at";
/** Above this estimated fraction of the store inside a shape's bounds, id-ordered pages scan by id. */
const ID_SCAN_FRACTION = 0.25;
/** Resample the density model after this many of our own writes (or a quarter of the store). */
const RESAMPLE_WRITES = 64;
/** …or when other processes wrote and the sample is older than this. */
const RESAMPLE_AGE_MS = 30_000;
/** More pre-filter rectangles than this and a multi-part geometry is bounded as a whole. */
const MAX_BOXES = 8;
/** Geometries with more positions than this are prepared (edge trees) before testing points. */
const PREPARE_ABOVE_POSITIONS = 64;
/** Row lists up to this long are read with a bound IN list, longer ones through json_each. */
const MAX_IN_LIST = 32;
/** Prepared statements kept per store (query shapes × small LIMITs). */
const MAX_CACHED_STATEMENTS = 256;

interface Compiled {
  readonly db: Database.Database;
  /** Runs a callback inside a transaction (`.deferred` for reads, `.immediate` for writes); built once. */
  readonly inTransaction: Database.Transaction<(run: () => unknown) => unknown>;
  readonly getById: Statement<[string], PlaceRow>;
  readonly pkById: Statement<[string], number>;
  /** A row and the seq of the change that last wrote it (NULL: written before schema v5). */
  readonly rowAndSeqById: Statement<[string], [...PlaceRow, number | null]>;
  /** The seq after which this transaction's changes are numbered (the outbox's AUTOINCREMENT). */
  readonly lastSeqEver: Statement<[], number>;
  /** Stores the place in a change that read it from its row, before the row changes. */
  readonly keepChangePlace: Statement<[string, number], unknown>;
  readonly insertChange: Statement<[...ChangeColumns, number], unknown>;
  readonly cellEntries: Statement<[], [number, number, number, number]>;
  readonly lastSeq: Statement<[], number | null>;
  readonly cellChanges: Statement<[number, number], CellChangeRow>;
  readonly pruneChanges: Statement<[number], unknown>;
  readonly changesAfter: Statement<[number, number], ChangeRow>;
  readonly changeRange: Statement<[], [number | null, number | null]>;
  readonly idByPk: Statement<[number], string>;
  readonly rowsByPks: Statement<[string], PlaceRow>;
  readonly rowByPk: Statement<[number], PlaceRow>;
  /** Every row, for the memory rows (a deliberate table scan, at open and on reloads). */
  readonly allRows: Statement<[], PlaceRow>;
  /** `pk IN (?, …)` row reads by list length, prepared on first use. */
  readonly rowsIn: Statement<number[], PlaceRow>[];
  readonly insert: Statement<
    [string, number, number, number, string, string, string, string, string, number],
    unknown
  >;
  readonly update: Statement<
    [number, number, number, string, string, string, string, string, number, number],
    unknown
  >;
  readonly deleteById: Statement<[string], unknown>;
  readonly count: Statement<[], number>;
  readonly pkBounds: Statement<[], [number | null, number | null]>;
  readonly pointAtPk: Statement<[number], [number, number]>;
  readonly allPoints: Statement<[], [number, number]>;
  readonly dataVersion: Statement<[], number>;
}

/** seq, kind, pk, the place's lng/lat after (or, deleted, before) the change, the location before. */
type CellChangeRow = [
  number,
  PlaceChange["kind"],
  number | null,
  number,
  number,
  number | null,
  number | null,
];

/** A write's effect on the in-memory cell index, applied once its transaction committed. */
type CellOp =
  | { readonly put: true; row: PlaceRow; prev?: LngLat }
  | { readonly put: false; pk: number; lng: number; lat: number };

/** Outbox changes past which catching up costs more than reloading the index from the file. */
const CATCH_UP_MAX = 50_000;

/** seq, kind, place (JSON, or `''` when it is its row as it stands), prev_lng, prev_lat, at, move. */
type ChangeColumns = [
  number,
  PlaceChange["kind"],
  string,
  number | null,
  number | null,
  string,
  string | null,
];

/** A change, then the row its place is read from (NULL unless `place` is `''`). */
type ChangeRow = [...ChangeColumns, ...Nullable<PlaceRow>];

type Nullable<T extends unknown[]> = { [K in keyof T]: T[K] | null };

/** The row a change reads its place from; a change whose row is gone means a damaged file. */
function liveRow(seq: number, row: Nullable<PlaceRow>): PlaceRow {
  if (row.some((v) => v === null)) {
    throw new GeomeshError(
      "STORE_UNAVAILABLE",
      `changes: change ${seq} reads its place from a row that is missing`,
    );
  }
  return row as PlaceRow;
}

/**
 * Before a write changes or removes a row (read with its seq): the place as it stands, which the
 * change that last wrote the row gets as JSON if it still reads its place from the row.
 */
function keepPlace(
  c: Compiled,
  found: readonly [...PlaceRow, number | null],
): { row: PlaceRow; place: Place; json: string } {
  const row = found.slice(0, -1) as PlaceRow;
  const seq = found[found.length - 1] as number | null;
  const place = toPlace(row);
  const json = JSON.stringify(place);
  if (seq !== null) c.keepChangePlace.run(json, seq);
  return { row, place, json };
}

function toPlace(row: PlaceRow): Place {
  const [, id, name, category, lng, lat, tags, properties, updatedAt] = row;
  return {
    id,
    name,
    category,
    location: { type: "Point", coordinates: [lng, lat] },
    tags: tags === "[]" ? [] : (JSON.parse(tags) as string[]),
    properties: properties === "{}" ? {} : (JSON.parse(properties) as Record<string, unknown>),
    updatedAt,
  };
}

/** Rectangles bounding a geometry part by part (tighter for scattered multi-geometries). */
function geometryBoxes(geometry: IntersectsGeometry): Box[] {
  let parts: IntersectsGeometry[];
  switch (geometry.type) {
    case "MultiPoint":
      parts = geometry.coordinates.map((coordinates) => ({ type: "Point", coordinates }));
      break;
    case "MultiLineString":
      parts = geometry.coordinates.map((coordinates) => ({ type: "LineString", coordinates }));
      break;
    case "MultiPolygon":
      parts = geometry.coordinates.map((coordinates) => ({ type: "Polygon", coordinates }));
      break;
    case "Point":
    case "LineString":
    case "Polygon":
      parts = [geometry];
      break;
  }
  const boxes = parts.flatMap((part) => geometryBounds(part));
  return boxes.length <= MAX_BOXES ? boxes : geometryBounds(geometry);
}

/** Pre-filter rectangles of a spherical `within` shape (polygon or circle). */
function shapeBoxes(shape: Shape): Box[] {
  return shape.kind === "polygon" ? geometryBoxes(shape.geometry) : shapeBounds(shape);
}

/** Exact test for a geometry; large ones are prepared once (edge trees) instead of O(n) per point. */
function geometryTest(geometry: IntersectsGeometry): (p: LngLat) => boolean {
  if (countPositions(geometry) > PREPARE_ABOVE_POSITIONS) {
    const prepared = prepareGeometry(geometry);
    return (p) => prepared.intersects(p);
  }
  return (p) => pointIntersects(p, geometry);
}

function shapeTest(shape: Shape): (p: LngLat) => boolean {
  return shape.kind === "polygon" ? geometryTest(shape.geometry) : (p) => pointInShape(p, shape);
}

function mergeRanges(ranges: CellRange[]): CellRange[] {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: CellRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] + 1 >= r[0]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

function inBoxes(boxes: readonly Box[], lng: number, lat: number): boolean {
  for (const [[w, s], [e, n]] of boxes)
    if (lng >= w && lng <= e && lat >= s && lat <= n) return true;
  return false;
}

/** The index pre-filter for a set of non-wrapping rectangles: key ranges plus a coordinate test. */
interface Prefilter {
  readonly boxes: readonly Box[];
  /** `(a.lng BETWEEN … AND a.lat BETWEEN …) OR …` for a table alias, exact for the rectangles. */
  sql(alias: string): string;
  readonly params: SqlParams;
}

function prefilter(boxes: readonly Box[]): Prefilter {
  const ranges = mergeRanges(boxes.flatMap((box) => cellRanges(box)));
  const params: SqlParams = { ranges: JSON.stringify(ranges) };
  boxes.forEach(([[w, s], [e, n]], i) => {
    params[`w${i}`] = w;
    params[`e${i}`] = e;
    params[`s${i}`] = s;
    params[`n${i}`] = n;
  });
  const sql = (a: string): string =>
    boxes.length === 0
      ? "(0)"
      : `(${boxes.map((_, i) => `(${a}.lng BETWEEN @w${i} AND @e${i} AND ${a}.lat BETWEEN @s${i} AND @n${i})`).join(" OR ")})`;
  return { boxes, sql, params };
}

/**
 * Index range scan over the pre-filter's key ranges, as alias `i`. The index is covering for
 * (cell, lng, lat, rowid), so coordinate tests and distances run without touching the table;
 * `ROW_JOIN` then reads the table row (alias `p`) only for candidates that passed them.
 */
const INDEX_SCAN =
  "json_each(@ranges) AS r CROSS JOIN places AS i ON i.cell BETWEEN r.value ->> 0 AND r.value ->> 1";
const ROW_JOIN = " CROSS JOIN places AS p ON p.pk = i.pk";

/** What a busy wait sleeps on between tries (nothing ever wakes it). */
const BUSY_SLEEP = new Int32Array(new SharedArrayBuffer(4));

/**
 * `PRAGMA journal_mode = WAL`, tried again for up to the busy timeout while another connection
 * holds a write lock: SQLite answers this pragma SQLITE_BUSY at once, without calling its busy
 * handler, when it cannot take the lock — as when two processes open a new file together. The
 * wait blocks, as SQLite's own busy handler does.
 */
function switchToWal(db: Database.Database, busyTimeoutMs: number): string {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      return db.pragma("journal_mode = WAL", { simple: true }) as string;
    } catch (error) {
      if (!isSqliteBusy(error) || Date.now() >= deadline) throw error;
      Atomics.wait(BUSY_SLEEP, 0, 0, 5);
    }
  }
}

/** Opens the file; failures that are not SQLite's own (e.g. a missing directory) are STORE_UNAVAILABLE. */
function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  try {
    return new Database(path, { timeout: busyTimeoutMs });
  } catch (error) {
    if (error instanceof Database.SqliteError) throw error;
    throw new GeomeshError("STORE_UNAVAILABLE", "init: the database file cannot be opened", {
      cause: error,
    });
  }
}

/** GeoStore on one SQLite file. See the module comment for the query plan. */
export class EmbeddedGeoStore implements GeoStore {
  readonly kind = "sqlite";
  /** Work counters since the store was opened. */
  readonly queryStats: EmbeddedQueryStats = {
    scans: 0,
    candidates: 0,
    nearIndexMs: 0,
    nearRowsMs: 0,
  };

  private compiled: Compiled | undefined;
  private closed = false;
  private readonly logger: Logger;
  private readonly statements = new Map<string, NamedStatement<unknown>>();
  private readonly density = new DensityModel();
  private densitySampledAt = -Infinity;
  private densityDataVersion = -1;
  private writesSinceSample = Infinity;
  /** The in-memory cell index (unless `memoryIndex: false`), as of outbox seq `cellsSeq`. */
  private cells: CellIndex | undefined;
  /** The places' rows in memory (with the cell index, unless `memoryRows: false`), in step with it. */
  private rows: MemoryRows | undefined;
  private cellsSeq = 0;
  /** True while the memory index and rows are known to match the running read's snapshot. */
  private memoryCurrent = false;
  /** The mapped WAL-index header (see `WalHeaderWatch`), when the addon and the file allow. */
  private walWatch: WalHeaderWatch | undefined;
  /** `PRAGMA data_version` when `cells` last caught up: another process committed when it differs. */
  private cellsVersion = -1;
  /** The last outbox seq the current write transaction took. */
  private writtenSeq = 0;

  constructor(private readonly options: EmbeddedStoreOptions) {
    this.logger = (options.logger ?? silentLogger).child({
      component: "store-embedded",
      region: options.region,
    });
  }

  /** Opens the file (creating it and its directory entry if needed), sets the pragmas, migrates. */
  init(): Promise<void> {
    if (this.compiled !== undefined) return Promise.resolve();
    if (this.closed)
      return Promise.reject(new GeomeshError("STORE_UNAVAILABLE", "init: the store is closed"));
    const {
      path,
      busyTimeoutMs = 5000,
      synchronous = "full",
      cacheSizeKiB = 32_768,
      mmapBytes = 0,
      walCheckpointPages = 10_000,
      pageSize = 16_384,
    } = this.options;
    if (
      !Number.isInteger(pageSize) ||
      pageSize < 512 ||
      pageSize > 65_536 ||
      (pageSize & (pageSize - 1)) !== 0
    )
      return Promise.reject(
        new GeomeshError(
          "CONFIG_INVALID",
          `pageSize must be a power of two from 512 to 65536, not ${pageSize}`,
        ),
      );
    let db: Database.Database | undefined;
    try {
      db = openDatabase(path, busyTimeoutMs);
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      // Takes effect only on a file with no tables yet (before WAL mode is set on it).
      db.pragma(`page_size = ${pageSize}`);
      const mode = switchToWal(db, busyTimeoutMs);
      if (mode !== "wal" && path !== ":memory:") {
        throw new GeomeshError(
          "STORE_UNAVAILABLE",
          `init: the file cannot use WAL journaling (got ${mode})`,
        );
      }
      db.pragma(`synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`);
      db.pragma(`cache_size = -${Math.max(1024, Math.floor(cacheSizeKiB))}`);
      db.pragma(`mmap_size = ${Math.max(0, Math.floor(mmapBytes))}`);
      db.pragma("temp_store = MEMORY");
      db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.floor(walCheckpointPages))}`);
      migrate(db, this.options.region);
      const compiled = this.compile(db);
      if (this.options.memoryIndex !== false) {
        this.cells = new CellIndex();
        if (this.options.memoryRows !== false) this.rows = new MemoryRows();
        compiled.inTransaction.deferred(() => this.loadCells(compiled));
      }
      this.compiled = compiled;
      // After the connection has read the file, so its lock keeps the -shm file in place.
      if (this.rows !== undefined && path !== ":memory:") this.walWatch = WalHeaderWatch.open(path);
      this.logger.debug(
        { path, synchronous, busyTimeoutMs, walHeaderMapped: this.walWatch !== undefined },
        "embedded store opened",
      );
      return Promise.resolve();
    } catch (error) {
      db?.close();
      return Promise.reject(classifySqliteError(error, "init"));
    }
  }

  /** Closes the file; later calls fail with STORE_UNAVAILABLE. Idempotent. */
  close(): Promise<void> {
    const compiled = this.compiled;
    this.compiled = undefined;
    this.closed = true;
    this.statements.clear();
    this.cells = undefined;
    this.rows = undefined;
    this.walWatch = undefined;
    if (compiled !== undefined) {
      try {
        compiled.db.close();
      } catch (error) {
        return Promise.reject(classifySqliteError(error, "close"));
      }
    }
    return Promise.resolve();
  }

  near(query: NearQuery): Promise<Page> {
    // Without a filter, a store holding its rows in memory answers from memory alone: when no
    // other process committed since the memory caught up, no SQLite transaction is needed (the
    // answer is the state before any commit still to come, as a transaction begun now would see).
    const f = filterSql(query.filter);
    if (this.rows !== undefined && f.key === "") {
      try {
        const c = this.open("near");
        if (this.walWatch?.unchanged() === true || this.memoryIsCurrent(c)) {
          this.memoryCurrent = true;
          try {
            return Promise.resolve(this.nearIn(c, query, f));
          } finally {
            this.memoryCurrent = false;
          }
        }
      } catch (error) {
        return Promise.reject(classifySqliteError(error, "near"));
      }
    }
    return this.read("near", (c) => this.nearIn(c, query, f));
  }

  /**
   * Whether no other process committed since the memory caught up, asked of SQLite (`PRAGMA
   * data_version`: two `fcntl`, ~5–13 µs here). When it has not and the WAL-index header read just
   * before was untorn, that header is marked: until it changes, `walWatch.unchanged()` answers
   * the same question from the mapped `-shm` file with no system call.
   */
  private memoryIsCurrent(c: Compiled): boolean {
    const watch = this.walWatch;
    const untorn = watch?.read() ?? false;
    const current = (c.dataVersion.get() ?? -1) === this.cellsVersion;
    if (current && untorn) watch?.markRead();
    else watch?.forget();
    return current;
  }

  within(query: WithinQuery): Promise<Page> {
    const { shape } = query;
    return this.read("within", (c) => {
      if (shape.kind === "box")
        return this.boxPage(c, shape.box, query.limit, query.filter, query.cursor?.id);
      return this.idPage(
        c,
        shapeBoxes(shape),
        shapeTest(shape),
        query.limit,
        query.filter,
        query.cursor?.id,
      );
    });
  }

  intersects(query: IntersectsQuery): Promise<Page> {
    const { geometry } = query;
    return this.read("intersects", (c) =>
      this.idPage(
        c,
        geometryBoxes(geometry),
        geometryTest(geometry),
        query.limit,
        query.filter,
        query.cursor?.id,
      ),
    );
  }

  count(query: CountQuery): Promise<number> {
    const { selection } = query;
    const f = filterSql(query.filter);
    return this.read("count", (c) => {
      switch (selection.kind) {
        case "near":
          return this.countNear(
            c,
            selection.point,
            selection.minDistance ?? 0,
            Math.min(selection.maxDistance, HALF_CIRCUMFERENCE),
            f,
          );
        case "within": {
          const { shape } = selection;
          if (shape.kind === "box") return this.countBox(c, shape.box, f);
          return this.countExact(c, shapeBoxes(shape), shapeTest(shape), f);
        }
        case "intersects": {
          const { geometry } = selection;
          return this.countExact(c, geometryBoxes(geometry), geometryTest(geometry), f);
        }
      }
    });
  }

  aggregate(query: AggregateQuery): Promise<GridCounts> {
    return this.read("aggregate", (c) => this.aggregateIn(c, query));
  }

  upsert(places: readonly PlaceInput[], options?: UpsertOptions): Promise<UpsertOutcome[]> {
    let prepared: Place[];
    try {
      prepared = preparePlaces(places);
    } catch (error) {
      return Promise.reject(
        error instanceof Error ? error : new GeomeshError("VALIDATION_FAILED", "invalid places"),
      );
    }
    const ops: CellOp[] = [];
    return this.write("upsert", ops, (c) => {
      const at = new Date().toISOString();
      const outcomes: UpsertOutcome[] = [];
      let seq = c.lastSeqEver.get() ?? 0;
      for (const p of prepared) {
        seq += 1;
        const [lng, lat] = p.location.coordinates;
        const tags = JSON.stringify(p.tags);
        const properties = JSON.stringify(p.properties);
        const cell = cellOf(lng, lat);
        // Insert first: a new id costs one B-tree descent, and only an existing one is read back.
        const inserted = c.insert.run(
          p.id,
          cell,
          lng,
          lat,
          p.name,
          p.category,
          tags,
          properties,
          p.updatedAt,
          seq,
        );
        let pk: number;
        let prev: LngLat | undefined;
        if (inserted.changes > 0) {
          pk = Number(inserted.lastInsertRowid);
        } else {
          const before = c.rowAndSeqById.get(p.id);
          if (before === undefined) {
            throw new GeomeshError(
              "STORE_UNAVAILABLE",
              `upsert: ${p.id} neither inserted nor found`,
            );
          }
          pk = before[0];
          prev = [before[4], before[5]];
          keepPlace(c, before);
          c.update.run(cell, lng, lat, p.name, p.category, tags, properties, p.updatedAt, seq, pk);
        }
        const row: PlaceRow = [
          pk,
          p.id,
          p.name,
          p.category,
          lng,
          lat,
          tags,
          properties,
          p.updatedAt,
        ];
        ops.push(prev === undefined ? { put: true, row } : { put: true, row, prev });
        const status = prev === undefined ? "created" : "updated";
        outcomes.push({
          id: p.id,
          status,
          change: this.record(c, seq, status, p, "", pk, at, prev, options?.moves?.[p.id]),
        });
      }
      this.writesSinceSample += prepared.length;
      return outcomes;
    });
  }

  /**
   * Appends change `seq` to the outbox (inside the write's transaction) and prunes old ones now and
   * then. `placeJson` is the place as stored: `''` when it is row `pk` as this write leaves it.
   */
  private record(
    c: Compiled,
    seq: number,
    kind: PlaceChange["kind"],
    place: Place,
    placeJson: string,
    pk: number,
    at: string,
    previous?: LngLat,
    move?: ChangeMove,
  ): PlaceChange {
    c.insertChange.run(
      seq,
      kind,
      placeJson,
      previous?.[0] ?? null,
      previous?.[1] ?? null,
      at,
      move ? JSON.stringify(move) : null,
      pk,
    );
    this.writtenSeq = seq;
    if (seq % 1024 === 0) c.pruneChanges.run(seq - CHANGES_KEPT);
    return {
      seq,
      kind,
      place,
      ...(previous ? { previous } : {}),
      ...(move ? { move: structuredClone(move) } : {}),
      at,
    };
  }

  changesSince(seq: number, limit: number): Promise<PlaceChange[]> {
    return this.read("changesSince", (c) =>
      c.changesAfter
        .all(Math.max(0, Math.floor(seq)), Math.max(0, Math.floor(limit)))
        .map(([s, kind, place, prevLng, prevLat, at, move, ...row]): PlaceChange => ({
          seq: s,
          kind,
          place: place === "" ? toPlace(liveRow(s, row)) : (JSON.parse(place) as Place),
          ...(prevLng === null || prevLat === null
            ? {}
            : { previous: [prevLng, prevLat] as LngLat }),
          ...(move === null ? {} : { move: JSON.parse(move) as ChangeMove }),
          at,
        })),
    );
  }

  changeRange(): Promise<ChangeRange> {
    return this.read("changeRange", (c) => {
      const [first, last] = c.changeRange.get() ?? [null, null];
      return { first: first ?? 0, last: last ?? 0 };
    });
  }

  get(id: string): Promise<Place | undefined> {
    return this.read("get", (c) => {
      const row = c.getById.get(id);
      return row === undefined ? undefined : toPlace(row);
    });
  }

  delete(id: string, options?: DeleteOptions): Promise<PlaceChange | undefined> {
    const ops: CellOp[] = [];
    return this.write("delete", ops, (c) => {
      const found = c.rowAndSeqById.get(id);
      if (found === undefined) return undefined;
      const { row, place, json } = keepPlace(c, found);
      c.deleteById.run(id);
      this.writesSinceSample += 1;
      ops.push({ put: false, pk: row[0], lng: row[4], lat: row[5] });
      const seq = (c.lastSeqEver.get() ?? 0) + 1;
      const at = new Date().toISOString();
      return this.record(c, seq, "deleted", place, json, row[0], at, undefined, options?.move);
    });
  }

  /**
   * The SQL of the store's fixed statements, by name (diagnostics: `EXPLAIN QUERY PLAN` them to
   * see which read a B-tree's ends and which scan a table). Empty before `init()`.
   */
  statementSources(): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    const c = this.compiled;
    if (c === undefined) return out;
    for (const [name, value] of Object.entries(c) as [string, unknown][]) {
      const source: unknown =
        typeof value === "object" && value !== null && "source" in value ? value.source : undefined;
      if (typeof source === "string") out.set(name, source);
    }
    return out;
  }

  stats(): Promise<StoreStats> {
    return this.read("stats", (c) => {
      const count = c.count.get() ?? 0;
      const { path } = this.options;
      if (path === ":memory:") return { count };
      let bytes = 0;
      for (const file of [path, `${path}-wal`]) {
        try {
          bytes += statSync(file).size;
        } catch {
          // The WAL may not exist (checkpointed and removed by the last closer).
        }
      }
      return { count, bytes };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing

  private compile(db: Database.Database): Compiled {
    return {
      db,
      inTransaction: db.transaction((run: () => unknown) => run()),
      getById: db
        .prepare<[string], PlaceRow>(`SELECT ${PLACE_COLUMNS} FROM places AS p WHERE p.id = ?`)
        .raw(),
      pkById: db.prepare<[string], number>("SELECT pk FROM places WHERE id = ?").pluck(),
      rowAndSeqById: db
        .prepare<[string], [...PlaceRow, number | null]>(
          `SELECT ${PLACE_COLUMNS}, p.seq FROM places AS p WHERE p.id = ?`,
        )
        .raw(),
      lastSeqEver: db
        .prepare<[], number>(
          // The AUTOINCREMENT counter (no row before the first change); max(seq) as well, in case
          // sqlite_sequence was edited by hand.
          "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0), coalesce((SELECT max(seq) FROM changes), 0))",
        )
        .pluck(),
      keepChangePlace: db.prepare("UPDATE changes SET place = ? WHERE seq = ? AND place = ''"),
      insertChange: db.prepare(
        "INSERT INTO changes (seq, kind, place, prev_lng, prev_lat, at, move, pk) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      cellEntries: db
        .prepare<[], [number, number, number, number]>(
          "SELECT cell, lng, lat, pk FROM places INDEXED BY places_cell ORDER BY cell",
        )
        .raw(),
      lastSeq: db.prepare<[], number | null>("SELECT max(seq) FROM changes").pluck(),
      cellChanges: db
        .prepare<[number, number], CellChangeRow>(
          "SELECT c.seq, c.kind, c.pk, iif(c.place = '', p.lng, c.place ->> '$.location.coordinates[0]'), iif(c.place = '', p.lat, c.place ->> '$.location.coordinates[1]'), c.prev_lng, c.prev_lat FROM changes AS c LEFT JOIN places AS p ON c.place = '' AND p.pk = c.pk WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
        )
        .raw(),
      pruneChanges: db.prepare("DELETE FROM changes WHERE seq <= ?"),
      changesAfter: db
        .prepare<[number, number], ChangeRow>(
          `SELECT c.seq, c.kind, c.place, c.prev_lng, c.prev_lat, c.at, c.move, ${PLACE_COLUMNS} FROM changes AS c LEFT JOIN places AS p ON c.place = '' AND p.pk = c.pk WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
        )
        .raw(),
      changeRange: db
        .prepare<[], [number | null, number | null]>(
          // Two subqueries: SQLite answers a lone min() or max() from the B-tree's ends, but a
          // query with both scans the whole table (the sweep asks every heartbeat).
          "SELECT (SELECT min(seq) FROM changes), (SELECT max(seq) FROM changes)",
        )
        .raw(),
      idByPk: db.prepare<[number], string>("SELECT id FROM places WHERE pk = ?").pluck(),
      rowsIn: [],
      rowByPk: db
        .prepare<[number], PlaceRow>(`SELECT ${PLACE_COLUMNS} FROM places AS p WHERE p.pk = ?`)
        .raw(),
      allRows: db.prepare<[], PlaceRow>(`SELECT ${PLACE_COLUMNS} FROM places AS p`).raw(),
      rowsByPks: db
        .prepare<[string], PlaceRow>(
          `SELECT ${PLACE_COLUMNS} FROM json_each(?) AS j CROSS JOIN places AS p ON p.pk = j.value`,
        )
        .raw(),
      insert: db.prepare(
        "INSERT INTO places (id, cell, lng, lat, name, category, tags, properties, updated_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      ),
      update: db.prepare(
        "UPDATE places SET cell = ?, lng = ?, lat = ?, name = ?, category = ?, tags = ?, properties = ?, updated_at = ?, seq = ? WHERE pk = ?",
      ),
      deleteById: db.prepare("DELETE FROM places WHERE id = ?"),
      count: db.prepare<[], number>("SELECT count(*) FROM places").pluck(),
      pkBounds: db
        .prepare<[], [number | null, number | null]>(
          "SELECT (SELECT min(pk) FROM places), (SELECT max(pk) FROM places)",
        )
        .raw(),
      pointAtPk: db
        .prepare<[number], [number, number]>(
          "SELECT lng, lat FROM places WHERE pk >= ? ORDER BY pk LIMIT 1",
        )
        .raw(),
      allPoints: db.prepare<[], [number, number]>("SELECT lng, lat FROM places").raw(),
      dataVersion: db.prepare<[], number>("PRAGMA data_version").pluck(),
    };
  }

  private open(operation: string): Compiled {
    const c = this.compiled;
    if (c === undefined) {
      throw new GeomeshError(
        "STORE_UNAVAILABLE",
        `${operation}: the store is ${this.closed ? "closed" : "not initialised"}`,
      );
    }
    return c;
  }

  /** Runs `fn` in one deferred (snapshot) read transaction; SQLite errors become store errors. */
  private read<T>(operation: string, fn: (c: Compiled) => T): Promise<T> {
    try {
      const c = this.open(operation);
      return Promise.resolve(c.inTransaction.deferred(() => fn(c)) as T);
    } catch (error) {
      return Promise.reject(classifySqliteError(error, operation));
    } finally {
      this.memoryCurrent = false;
    }
  }

  /**
   * Runs `fn` in one IMMEDIATE write transaction (takes the write lock up front, waiting up to the
   * busy timeout). The cell index first catches up with other processes' commits (under the write
   * lock, so the outbox seqs this write takes follow them directly); `fn`'s effects on it (`ops`)
   * are applied only once the transaction has committed.
   */
  private write<T>(operation: string, ops: CellOp[], fn: (c: Compiled) => T): Promise<T> {
    try {
      const c = this.open(operation);
      this.writtenSeq = 0;
      const result = c.inTransaction.immediate(() => {
        this.syncCells(c);
        return fn(c);
      }) as T;
      this.applyOwn(ops);
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(classifySqliteError(error, operation));
    } finally {
      this.memoryCurrent = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // the in-memory cell index

  /** Reloads the cell index from the file (inside a read or write transaction). */
  private loadCells(c: Compiled): void {
    const cells = this.cells;
    if (cells === undefined) return;
    cells.load(c.cellEntries.iterate());
    const rows = this.rows;
    if (rows !== undefined) {
      rows.clear();
      for (const row of c.allRows.iterate()) rows.put(row);
    }
    this.cellsSeq = c.lastSeq.get() ?? 0;
    this.cellsVersion = c.dataVersion.get() ?? -1;
    this.logger.debug(
      { places: cells.size, seq: this.cellsSeq, rows: rows?.size },
      "cell index loaded",
    );
  }

  /**
   * Brings the cell index up to the transaction's snapshot: when another process committed
   * (`PRAGMA data_version` moved), replays the outbox after `cellsSeq` — each change's pk and
   * locations — or reloads from `places` when the outbox no longer holds them all (pruned, an
   * older build's changes without pk, more than `CATCH_UP_MAX`, the file replaced).
   */
  private syncCells(c: Compiled): void {
    const cells = this.cells;
    if (cells === undefined || this.memoryCurrent) return;
    const version = c.dataVersion.get() ?? -1;
    if (version === this.cellsVersion) {
      this.memoryCurrent = c.db.inTransaction;
      return;
    }
    const rows = c.cellChanges.all(this.cellsSeq, CATCH_UP_MAX + 1);
    const first = rows[0];
    if (
      rows.length > CATCH_UP_MAX ||
      (first !== undefined && first[0] !== this.cellsSeq + 1) ||
      (first === undefined && (c.lastSeq.get() ?? 0) !== this.cellsSeq) ||
      rows.some((row) => row[2] === null)
    ) {
      this.loadCells(c);
      return;
    }
    const changed = new Set<number>();
    for (const [seq, kind, pk, lng, lat, prevLng, prevLat] of rows) {
      if (pk === null) continue;
      changed.add(pk);
      if (kind === "deleted") {
        cells.remove(cellOf(lng, lat), pk);
      } else {
        if (prevLng !== null && prevLat !== null) cells.remove(cellOf(prevLng, prevLat), pk);
        // Replaying a change this process already applied leaves one entry, not two.
        cells.remove(cellOf(lng, lat), pk);
        cells.insert(cellOf(lng, lat), lng, lat, pk);
      }
      this.cellsSeq = seq;
    }
    // Each changed row once, as of this snapshot (gone if a later change deleted it).
    const memory = this.rows;
    if (memory !== undefined) {
      for (const pk of changed) {
        const row = c.rowByPk.get(pk);
        if (row === undefined) memory.remove(pk);
        else memory.put(row);
      }
    }
    this.cellsVersion = version;
  }

  /** Applies a committed write of this process to the cell index. */
  private applyOwn(ops: readonly CellOp[]): void {
    const cells = this.cells;
    if (cells === undefined || ops.length === 0) return;
    for (const op of ops) {
      if (!op.put) {
        cells.remove(cellOf(op.lng, op.lat), op.pk);
        this.rows?.remove(op.pk);
        continue;
      }
      const [pk, , , , lng, lat] = op.row;
      this.rows?.put(op.row);
      if (op.prev !== undefined) cells.remove(cellOf(op.prev[0], op.prev[1]), pk);
      cells.insert(cellOf(lng, lat), lng, lat, pk);
    }
    if (this.writtenSeq > 0) this.cellsSeq = this.writtenSeq;
  }

  /**
   * A cached statement for a query shape. Small integers that steer the plan (LIMITs) are part of
   * the SQL text, not parameters — SQLite plans a bound LIMIT far worse (≈ 4× slower here) — so
   * the cache is bounded, least recently used out.
   */
  private statement<R>(c: Compiled, key: string, sql: () => string): NamedStatement<R> {
    let st = this.statements.get(key);
    if (st === undefined) {
      st = c.db.prepare<[SqlParams], unknown>(sql()).raw();
      if (this.statements.size >= MAX_CACHED_STATEMENTS) {
        const oldest = this.statements.keys().next();
        if (oldest.done !== true) this.statements.delete(oldest.value);
      }
    } else {
      this.statements.delete(key);
    }
    this.statements.set(key, st);
    return st as NamedStatement<R>;
  }

  /** (pk, lng, lat) of every place inside the pre-filter that passes the filter. */
  private scanPoints(c: Compiled, pre: Prefilter, f: FilterSql): PointRow[] {
    const st = this.statement<PointRow>(
      c,
      `points:${pre.boxes.length}:${f.key}`,
      () =>
        `SELECT i.pk, i.lng, i.lat FROM ${INDEX_SCAN}${f.key === "" ? "" : ROW_JOIN} WHERE ${pre.sql("i")}${f.sql}`,
    );
    const rows = st.all({ ...pre.params, ...f.params });
    this.queryStats.scans += 1;
    this.queryStats.candidates += rows.length;
    return rows;
  }

  /**
   * The places with these pks, in their order (undefined where none): from the memory rows when
   * held, else read from the file.
   */
  private placesByPk(c: Compiled, points: readonly IndexedPoint[]): (Place | undefined)[] {
    const places: (Place | undefined)[] = new Array<Place | undefined>(points.length);
    if (points.length === 0) return places;
    const memory = this.rows;
    if (memory !== undefined) {
      this.syncCells(c);
      memory.places(points, places);
      return places;
    }
    const pks = points.map((p) => p.pk);
    // Short lists (every kNN page) bind an IN list — cheaper than building and walking JSON.
    let rows: PlaceRow[];
    if (pks.length <= MAX_IN_LIST) {
      let st = c.rowsIn[pks.length];
      if (st === undefined) {
        st = c.db
          .prepare<number[], PlaceRow>(
            `SELECT ${PLACE_COLUMNS} FROM places AS p WHERE p.pk IN (${pks.map(() => "?").join(", ")})`,
          )
          .raw();
        c.rowsIn[pks.length] = st;
      }
      rows = st.all(...pks);
    } else {
      rows = c.rowsByPks.all(JSON.stringify(pks));
    }
    const at = new Map<number, number>();
    pks.forEach((pk, i) => at.set(pk, i));
    for (const row of rows) {
      const i = at.get(row[0]);
      if (i !== undefined) places[i] = toPlace(row);
    }
    return places;
  }

  // -------------------------------------------------------------------------------------------
  // near: expanding spherical cap over the index

  /**
   * kNN by expanding radius. A pass scans the index for the rectangles bounding the cap of radius
   * r (≤ maxDistance) and keeps candidates whose exact distance (`distanceMeters`) lies in
   * [lower, r] and after the cursor. Every place nearer than r is then known, so once the cap
   * holds limit + 1 hits (one more than the page, to know whether another page follows) the first
   * hits by (distance, id) are final, and only their rows are read. A short pass grows r by
   * √(wanted / found) (×4 when empty) until it reaches maxDistance.
   *
   * The first radius: without a filter, the places just before and after the query's key on the
   * Hilbert curve are real places close by, so their (limit + 1)-th smallest distance bounds the
   * answer's radius (≈ 1.2× it at the median on clustered data) and one pass suffices. With a
   * filter those places may not match, so the sampled density model sizes the first pass.
   */
  private nearIn(c: Compiled, query: NearQuery, f: FilterSql): Page {
    const { limit, cursor } = query;
    if (limit <= 0) return { hits: [] };
    const started = performance.now();
    const need = limit + 1;
    const minDistance = query.minDistance ?? 0;
    const maxDistance = Math.min(query.maxDistance ?? HALF_CIRCUMFERENCE, HALF_CIRCUMFERENCE);
    const lower = Math.max(minDistance, cursor?.distance ?? 0);
    if (lower > maxDistance) return { hits: [] };
    const chosen =
      this.cells !== undefined && f.key === ""
        ? this.nearInMemory(c, this.cells, query, need, lower, maxDistance)
        : this.nearInFile(c, query, f, need, lower, maxDistance);
    const indexed = performance.now();
    // `chosen` is in increasing distance: only the page's rows are read, plus those tied with
    // its last distance (ids order ties, so they decide which make the page).
    let fetch = chosen.length;
    if (fetch > limit) {
      const edge = chosen[limit - 1]!.d;
      fetch = limit;
      while (fetch < chosen.length && chosen[fetch]!.d === edge) fetch++;
    }
    const places = this.placesByPk(c, fetch === chosen.length ? chosen : chosen.slice(0, fetch));
    const ordered: { place: Place; distance: number; id: string }[] = [];
    for (let i = 0; i < fetch; i++) {
      const place = places[i];
      if (place !== undefined) ordered.push({ place, distance: chosen[i]!.d, id: place.id });
    }
    ordered.sort(compareNear);
    const page = ordered.slice(0, limit);
    const result: Page = { hits: page.map(({ place, distance }) => ({ place, distance })) };
    const last = page[page.length - 1];
    if (chosen.length > limit && last !== undefined)
      result.next = encodeNearCursor({ distance: last.distance, id: last.id });
    this.queryStats.nearIndexMs += indexed - started;
    this.queryStats.nearRowsMs += performance.now() - indexed;
    return result;
  }

  /** near()'s hits from the in-memory cell index (no filter): best-first, see `CellIndex`. */
  private nearInMemory(
    c: Compiled,
    cells: CellIndex,
    query: NearQuery,
    need: number,
    lower: number,
    upper: number,
  ): readonly IndexHit[] {
    this.syncCells(c);
    const { cursor } = query;
    const visited = cells.pointsVisited;
    const hits = cells.nearest(query.point, {
      need,
      lower,
      upper,
      ...(cursor === undefined
        ? {}
        : {
            // A hit tied with the cursor's distance comes after it only if its id is greater.
            accept: (pk: number, d: number) =>
              d !== cursor.distance || compareIds(c.idByPk.get(pk) ?? "", cursor.id) > 0,
          }),
    });
    this.queryStats.scans += 1;
    this.queryStats.candidates += cells.pointsVisited - visited;
    return hits;
  }

  /** near()'s hits from the file's cell B-tree: expanding caps (with a filter, or memoryIndex off). */
  private nearInFile(
    c: Compiled,
    query: NearQuery,
    f: FilterSql,
    need: number,
    lower: number,
    maxDistance: number,
  ): IndexHit[] {
    const { point, cursor } = query;
    let r = f.key === "" ? this.curveBound(c, point, need, lower) : undefined;
    if (r === undefined) {
      this.refreshDensity(c);
      r = this.density.radius(point, need, lower);
    }
    let hits: IndexHit[] = [];
    for (;;) {
      const cap = Math.min(r, maxDistance);
      hits = [];
      for (const [pk, lng, lat] of this.scanPoints(c, prefilter(circleBounds(point, cap)), f)) {
        const d = distanceMeters(point, [lng, lat]);
        if (d < lower || d > cap) continue;
        // A hit tied with the cursor's distance comes after it only if its id is greater.
        if (
          cursor !== undefined &&
          d === cursor.distance &&
          compareIds(c.idByPk.get(pk) ?? "", cursor.id) <= 0
        )
          continue;
        hits.push({ pk, d, lng, lat });
      }
      if (hits.length >= need || cap >= maxDistance) break;
      r = hits.length === 0 ? cap * 4 : cap * Math.max(1.5, 1.2 * Math.sqrt(need / hits.length));
    }
    hits.sort((a, b) => a.d - b.d || a.pk - b.pk);
    // Ids break ties, so keep every hit tied with the last one that makes the cut.
    let take = Math.min(need, hits.length);
    const cutoff = hits[take - 1]?.d;
    while (take < hits.length && hits[take]!.d === cutoff) take++;
    return hits.slice(0, take);
  }

  /**
   * The need-th smallest distance at or beyond `lower` among the `need` places on each side of
   * the query's Hilbert key — real places, so an upper bound on the answer's radius — or
   * `undefined` when fewer than `need` of them lie beyond `lower`.
   */
  private curveBound(c: Compiled, point: LngLat, need: number, lower: number): number | undefined {
    const key = cellOf(point[0], point[1]);
    const ds: number[] = [];
    for (const [direction, order] of [
      [">=", "ASC"],
      ["<", "DESC"],
    ] as const) {
      const st = this.statement<[number, number]>(
        c,
        `curve:${direction}:${need}`,
        () =>
          `SELECT lng, lat FROM places WHERE cell ${direction} @key ORDER BY cell ${order} LIMIT ${need}`,
      );
      for (const [lng, lat] of st.all({ key })) {
        const d = distanceMeters(point, [lng, lat]);
        if (d >= lower) ds.push(d);
      }
    }
    if (ds.length < need) return undefined;
    ds.sort((a, b) => a - b);
    // A hair of slack so float noise in the bounding boxes never loses the bounding place itself.
    return ds[need - 1]! * (1 + 1e-12) + 1e-9;
  }

  // -------------------------------------------------------------------------------------------
  // id-ordered pages (within, intersects)

  /** A page of a box query: the box test is exact in SQL, so SQLite sorts and limits. */
  private boxPage(
    c: Compiled,
    box: Box,
    limit: number,
    filter: Filter | undefined,
    after: string | undefined,
  ): Page {
    if (limit <= 0) return { hits: [] };
    const pre = prefilter(boxBounds(box));
    const f = filterSql(filter);
    const st = this.statement<PlaceRow>(
      c,
      `boxpage:${pre.boxes.length}:${f.key}:${after === undefined ? 0 : 1}:${limit}`,
      () =>
        `SELECT ${PLACE_COLUMNS} FROM ${INDEX_SCAN}${ROW_JOIN} WHERE ${pre.sql("i")}${f.sql}${after === undefined ? "" : " AND p.id > @after"} ORDER BY p.id LIMIT ${limit + 1}`,
    );
    const params: SqlParams = { ...pre.params, ...f.params };
    if (after !== undefined) params.after = after;
    const rows = st.all(params);
    this.queryStats.scans += 1;
    this.queryStats.candidates += rows.length;
    return this.pageOf(rows.map(toPlace), limit);
  }

  /**
   * A page of places passing an exact predicate, by id. Small selections scan the spatial index
   * and sort candidates by id; when the bounds hold a large share of the store, walking the id
   * index and stopping after limit + 1 hits is cheaper.
   */
  private idPage(
    c: Compiled,
    boxes: readonly Box[],
    exact: (p: LngLat) => boolean,
    limit: number,
    filter: Filter | undefined,
    after: string | undefined,
  ): Page {
    if (limit <= 0) return { hits: [] };
    this.refreshDensity(c);
    const pre = prefilter(boxes);
    const f = filterSql(filter);
    const byId =
      this.density.size > 10_000 &&
      this.density.fraction((lng, lat) => inBoxes(boxes, lng, lat)) > ID_SCAN_FRACTION;
    const afterSql = after === undefined ? "" : " AND p.id > @after";
    const st = byId
      ? this.statement<IdPointRow>(
          c,
          `idscan:${pre.boxes.length}:${f.key}:${after === undefined ? 0 : 1}`,
          () =>
            `SELECT p.pk, p.id, p.lng, p.lat FROM places AS p WHERE ${pre.sql("p")}${f.sql}${afterSql} ORDER BY p.id`,
        )
      : this.statement<IdPointRow>(
          c,
          `idpage:${pre.boxes.length}:${f.key}:${after === undefined ? 0 : 1}`,
          () =>
            `SELECT i.pk, p.id, i.lng, i.lat FROM ${INDEX_SCAN}${ROW_JOIN} WHERE ${pre.sql("i")}${f.sql}${afterSql} ORDER BY p.id`,
        );
    const params: SqlParams = { ...pre.params, ...f.params };
    if (byId) delete params.ranges;
    if (after !== undefined) params.after = after;
    const points: IndexedPoint[] = [];
    this.queryStats.scans += 1;
    for (const [pk, , lng, lat] of st.iterate(params)) {
      this.queryStats.candidates += 1;
      if (!exact([lng, lat])) continue;
      points.push({ pk, lng, lat });
      if (points.length > limit) break;
    }
    const places = this.placesByPk(c, points).filter((place) => place !== undefined);
    return this.pageOf(places, limit);
  }

  private pageOf(places: Place[], limit: number): Page {
    const hits: PlaceHit[] = places.slice(0, limit).map((place) => ({ place }));
    const page: Page = { hits };
    const last = hits[hits.length - 1];
    if (places.length > limit && last !== undefined)
      page.next = encodeIdCursor({ id: last.place.id });
    return page;
  }

  // -------------------------------------------------------------------------------------------
  // count, aggregate

  private countBox(c: Compiled, box: Box, f: FilterSql): number {
    const pre = prefilter(boxBounds(box));
    const st = this.statement<[number]>(
      c,
      `countbox:${pre.boxes.length}:${f.key}`,
      () =>
        `SELECT count(*) FROM ${INDEX_SCAN}${f.key === "" ? "" : ROW_JOIN} WHERE ${pre.sql("i")}${f.sql}`,
    );
    this.queryStats.scans += 1;
    return st.get({ ...pre.params, ...f.params })?.[0] ?? 0;
  }

  /** Places at a distance in [min, max] from a point (near()'s distance, inclusive). */
  private countNear(c: Compiled, point: LngLat, min: number, max: number, f: FilterSql): number {
    if (min > max) return 0;
    let n = 0;
    for (const [, lng, lat] of this.scanPoints(c, prefilter(circleBounds(point, max)), f)) {
      const d = distanceMeters(point, [lng, lat]);
      if (d >= min && d <= max) n++;
    }
    return n;
  }

  private countExact(
    c: Compiled,
    boxes: readonly Box[],
    exact: (p: LngLat) => boolean,
    f: FilterSql,
  ): number {
    let n = 0;
    for (const [, lng, lat] of this.scanPoints(c, prefilter(boxes), f)) if (exact([lng, lat])) n++;
    return n;
  }

  /**
   * Grid counts computed in SQL with the same IEEE arithmetic, in the same order, as
   * `aggregateCellOf` (x = lng − w, or lng + 360 − w across the antimeridian; col = min(cols − 1,
   * ⌊x / width · cols⌋)), so both stores and the oracle bin every point identically.
   */
  private aggregateIn(c: Compiled, query: AggregateQuery): GridCounts {
    const { box, cells } = query;
    const [cols, rows] = cells;
    const [[w, s], [e, n]] = box;
    const width = w <= e ? e - w : e + 360 - w;
    const height = n - s;
    const pre = prefilter(boxBounds(box));
    const f = filterSql(query.filter);
    const colSql =
      width > 0
        ? "min(@cols - 1, CAST(floor(((CASE WHEN i.lng >= @w THEN i.lng - @w ELSE i.lng + 360 - @w END) / @width) * @cols) AS INTEGER))"
        : "0";
    const rowSql =
      height > 0 ? "min(@rows - 1, CAST(floor(((i.lat - @s) / @height) * @rows) AS INTEGER))" : "0";
    const st = this.statement<[number, number]>(
      c,
      `aggregate:${pre.boxes.length}:${f.key}:${width > 0 ? 1 : 0}${height > 0 ? 1 : 0}`,
      () =>
        `SELECT cell, count(*) FROM (SELECT (${rowSql}) * @cols + (${colSql}) AS cell FROM ${INDEX_SCAN}${f.key === "" ? "" : ROW_JOIN} WHERE ${pre.sql("i")}${f.sql}) GROUP BY cell`,
    );
    const params: SqlParams = { ...pre.params, ...f.params, cols };
    if (width > 0) Object.assign(params, { w, width });
    if (height > 0) Object.assign(params, { rows, s, height });
    const counts = new Array<number>(cols * rows).fill(0);
    this.queryStats.scans += 1;
    for (const [cell, count] of st.all(params)) {
      if (cell >= 0 && cell < counts.length) counts[cell] = (counts[cell] ?? 0) + count;
    }
    return { box, cells: [cols, rows], counts };
  }

  // -------------------------------------------------------------------------------------------
  // density model upkeep

  /** Resamples the density model when it is missing or stale (own writes, or other writers and age). */
  private refreshDensity(c: Compiled): void {
    const now = Date.now();
    const stale =
      this.writesSinceSample > Math.max(RESAMPLE_WRITES, this.density.size / 4) ||
      (now - this.densitySampledAt > RESAMPLE_AGE_MS &&
        c.dataVersion.get() !== this.densityDataVersion);
    if (!stale) return;
    const total = c.count.get() ?? 0;
    let points: [number, number][];
    if (total <= DENSITY_SAMPLE_SIZE) {
      points = c.allPoints.all();
    } else {
      const [lo, hi] = c.pkBounds.get() ?? [null, null];
      points = [];
      if (lo !== null && hi !== null) {
        for (let i = 0; i < DENSITY_SAMPLE_SIZE; i++) {
          const p = c.pointAtPk.get(lo + Math.floor(Math.random() * (hi - lo + 1)));
          if (p !== undefined) points.push(p);
        }
      }
    }
    this.density.load({ points, total });
    this.densitySampledAt = now;
    this.densityDataVersion = c.dataVersion.get() ?? -1;
    this.writesSinceSample = 0;
  }
}
