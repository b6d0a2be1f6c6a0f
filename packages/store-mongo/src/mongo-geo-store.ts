/**
 * The MongoDB region store (production): one collection per region with a `2dsphere` index on
 * `location`, places stored as `{_id: id, name, category, location, tags, properties, updatedAt}`.
 *
 * - near: `$geoNear` (spherical, GeoJSON point → metres on MongoDB's 6 378 100 m sphere). It
 *   orders by distance only, so ties are settled here: fetch limit + 1 (+ slack), keep what is
 *   strictly nearer than the farthest fetched distance (that part is complete), sort by
 *   (distance, id), and fetch more if ties at the edge leave too few. min/maxDistance are widened
 *   by float noise for the server and applied exactly to the reported distances, so "inclusive"
 *   holds for the distances callers see.
 * - within/intersects: `$geoWithin`/`$geoIntersects` (see `mongo-shapes.ts`), sorted by `_id`.
 * - upsert: one ordered `bulkWrite` of `replaceOne(upsert)`, inside a transaction on replica sets
 *   (atomic batch) with write concern `majority`; on a standalone server validation still runs
 *   first, so an invalid place writes nothing, but a server failure mid-batch can leave a prefix.
 * - changes: each write also appends to `<collection>_changes` (`_id` = seq), with seqs reserved
 *   by `$inc` on a counter in `<collection>_counters` — in the same transaction on replica sets.
 *   On a standalone server the reservation and the write are separate steps: a failure between
 *   them leaves a hole in the numbers (never committed: a worker's outbox sweep tells the broker
 *   it is absent, and gateways refilling a gap skip it), and concurrent writers may commit in a
 *   slightly different order than their numbers.
 */
import { GeomeshError } from "@geomesh/errors";
import {
  type AggregateQuery,
  compareNear,
  type CountQuery,
  EARTH_RADIUS_M,
  encodeIdCursor,
  encodeNearCursor,
  type Filter,
  type GridCounts,
  type IntersectsQuery,
  type LngLat,
  type NearQuery,
  type Page,
  type Place,
  type PlaceInput,
  type Selection,
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
import {
  type AnyBulkWriteOperation,
  type ClientSession,
  type Collection,
  type Document,
  MongoClient,
  type MongoClientOptions,
  type WriteConcernSettings,
} from "mongodb";
import { classifyMongoError } from "./mongo-errors.js";
import { mongoFilter } from "./mongo-filter.js";
import { aggregateCellExpression, boxQuery, intersectsQuery, withinQuery } from "./mongo-shapes.js";

/** Options of the MongoDB store. */
export interface MongoStoreOptions extends StoreOptions {
  /** `mongodb://…` or `mongodb+srv://…`. Never logged or echoed. */
  readonly uri: string;
  /** Database name; default: the one in the URI, else `geomesh`. */
  readonly database?: string;
  /** Collection name; default `places_<region>` (lower case). */
  readonly collection?: string;
  /** Server-side time limit per operation (`maxTimeMS`, default 10 000). */
  readonly operationTimeoutMs?: number;
  /** How long to look for a usable server before STORE_UNAVAILABLE (default 5 000 ms). */
  readonly serverSelectionTimeoutMs?: number;
  /** Extra driver options (pool sizes, TLS…). */
  readonly clientOptions?: MongoClientOptions;
}

/** A place as stored in MongoDB. */
export interface PlaceDocument {
  _id: string;
  name: string;
  category: string;
  location: { type: "Point"; coordinates: [number, number] };
  tags: string[];
  properties: Record<string, unknown>;
  updatedAt: string;
}

/** A committed write as kept in `<collection>_changes`. */
interface ChangeDocument {
  _id: number;
  kind: PlaceChange["kind"];
  place: PlaceDocument;
  previous?: LngLat;
  /** The cross-region move the change is half of. */
  move?: ChangeMove;
  at: string;
}

const DISTANCE_FIELD = "__geomeshDistance";
const HALF_CIRCUMFERENCE = Math.PI * EARTH_RADIUS_M;

/** Float noise allowed between the server's distance test and the distance it reports. */
function widenDown(d: number): number {
  return Math.max(0, d * (1 - 1e-9) - 1e-6);
}

function widenUp(d: number): number {
  return d * (1 + 1e-9) + 1e-6;
}

/** The database named in a connection string's path, if any. */
export function databaseOfUri(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/[^/?#]*\/([^?#]+)/i.exec(uri);
  const name = m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
  return name === undefined || name.length === 0 ? undefined : name;
}

/** The default collection name of a region. */
export function collectionForRegion(region: string): string {
  return `places_${region.toLowerCase().replace(/[^a-z0-9_-]/g, "_")}`;
}

function toPlace(doc: PlaceDocument): Place {
  return {
    id: doc._id,
    name: doc.name,
    category: doc.category,
    location: {
      type: "Point",
      coordinates: [doc.location.coordinates[0], doc.location.coordinates[1]],
    },
    tags: doc.tags,
    properties: doc.properties,
    updatedAt: doc.updatedAt,
  };
}

function toDocument(place: Place): PlaceDocument {
  return {
    _id: place.id,
    name: place.name,
    category: place.category,
    location: {
      type: "Point",
      coordinates: [place.location.coordinates[0], place.location.coordinates[1]],
    },
    tags: place.tags,
    properties: place.properties,
    updatedAt: place.updatedAt,
  };
}

function and(...clauses: Document[]): Document {
  const nonEmpty = clauses.filter((c) => Object.keys(c).length > 0);
  if (nonEmpty.length === 0) return {};
  return nonEmpty.length === 1 ? nonEmpty[0]! : { $and: nonEmpty };
}

interface Connected {
  readonly client: MongoClient;
  readonly places: Collection<PlaceDocument>;
  readonly changes: Collection<ChangeDocument>;
  readonly counters: Collection<{ _id: string; seq: number }>;
  /** Replica set or mongos: transactions and `majority` are available. */
  readonly replicated: boolean;
}

/** GeoStore on one MongoDB collection. */
export class MongoGeoStore implements GeoStore {
  readonly kind = "mongodb";
  private connected: Connected | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly logger: Logger;
  private readonly maxTimeMS: number;
  /** The collection holding this region's places. */
  readonly collectionName: string;

  constructor(private readonly options: MongoStoreOptions) {
    this.logger = (options.logger ?? silentLogger).child({
      component: "store-mongo",
      region: options.region,
    });
    this.maxTimeMS = options.operationTimeoutMs ?? 10_000;
    this.collectionName = options.collection ?? collectionForRegion(options.region);
  }

  /** Connects, detects replica sets, and ensures the indexes. Idempotent. */
  init(): Promise<void> {
    if (this.closed)
      return Promise.reject(new GeomeshError("STORE_UNAVAILABLE", "init: the store is closed"));
    this.connecting ??= this.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw classifyMongoError(error, "init");
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const { uri, serverSelectionTimeoutMs = 5000, clientOptions } = this.options;
    let client: MongoClient;
    try {
      client = new MongoClient(uri, {
        appName: "geomesh",
        serverSelectionTimeoutMS: serverSelectionTimeoutMs,
        ...clientOptions,
      });
    } catch (error) {
      // The driver parses the URI here (MongoParseError, or MongoRuntimeError from URL parsing).
      throw new GeomeshError(
        "CONFIG_INVALID",
        "init: the MongoDB connection string or its options are invalid",
        {
          cause: error,
          data: { field: "store" },
        },
      );
    }
    try {
      await client.connect();
      const hello = await client.db("admin").command({ hello: 1 });
      const replicated = typeof hello.setName === "string" || hello.msg === "isdbgrid";
      const writeConcern: WriteConcernSettings | undefined = replicated
        ? { w: "majority" }
        : undefined;
      const db = client.db(this.options.database ?? databaseOfUri(uri) ?? "geomesh");
      const name = this.collectionName;
      const places = db.collection<PlaceDocument>(
        name,
        writeConcern === undefined ? {} : { writeConcern },
      );
      await places.createIndexes([
        { key: { location: "2dsphere" }, name: "location_2dsphere" },
        { key: { category: 1, _id: 1 }, name: "category_id" },
        { key: { updatedAt: 1 }, name: "updatedAt" },
      ]);
      const collectionOptions = writeConcern === undefined ? {} : { writeConcern };
      const changes = db.collection<ChangeDocument>(`${name}_changes`, collectionOptions);
      const counters = db.collection<{ _id: string; seq: number }>(
        `${name}_counters`,
        collectionOptions,
      );
      if (this.closed)
        throw new GeomeshError("STORE_UNAVAILABLE", "init: the store was closed while connecting");
      this.connected = { client, places, changes, counters, replicated };
      this.logger.debug(
        { database: db.databaseName, collection: name, replicated },
        "mongodb store ready",
      );
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
  }

  /** Closes the client. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.connecting;
    this.connecting = undefined;
    await pending?.catch(() => undefined);
    const c = this.connected;
    this.connected = undefined;
    if (c !== undefined)
      await c.client
        .close()
        .catch((error: unknown) =>
          this.logger.warn(
            { err: classifyMongoError(error, "close") },
            "closing the MongoDB client failed",
          ),
        );
  }

  private async run<T>(operation: string, fn: (c: Connected) => Promise<T>): Promise<T> {
    const c = this.connected;
    if (c === undefined) {
      throw new GeomeshError(
        "STORE_UNAVAILABLE",
        `${operation}: the store is ${this.closed ? "closed" : "not initialised"}`,
      );
    }
    try {
      return await fn(c);
    } catch (error) {
      throw classifyMongoError(error, operation);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  near(query: NearQuery): Promise<Page> {
    return this.run("near", async (c) => {
      const { point, limit, cursor } = query;
      if (limit <= 0) return { hits: [] };
      const need = limit + 1;
      const minDistance = query.minDistance ?? 0;
      const maxDistance = Math.min(query.maxDistance ?? HALF_CIRCUMFERENCE, HALF_CIRCUMFERENCE);
      const lower = Math.max(minDistance, cursor?.distance ?? 0);
      if (lower > maxDistance) return { hits: [] };
      const filter = mongoFilter(query.filter);
      let fetch = need + (cursor === undefined ? 0 : 8);
      for (;;) {
        const docs = await c.places
          .aggregate<PlaceDocument & { [DISTANCE_FIELD]: number }>(
            [
              {
                $geoNear: {
                  near: { type: "Point", coordinates: point },
                  key: "location",
                  distanceField: DISTANCE_FIELD,
                  spherical: true,
                  query: filter,
                  minDistance: widenDown(lower),
                  maxDistance: widenUp(maxDistance),
                },
              },
              { $limit: fetch },
            ],
            { maxTimeMS: this.maxTimeMS },
          )
          .toArray();
        const complete = docs.length < fetch;
        const edge = docs[docs.length - 1]?.[DISTANCE_FIELD] ?? 0;
        const hits = docs
          .map((d) => ({ doc: d, distance: d[DISTANCE_FIELD], id: d._id }))
          .filter((h) => h.distance >= minDistance && h.distance <= maxDistance)
          .filter((h) => cursor === undefined || compareNear(h, cursor) > 0)
          // Below the farthest fetched distance the fetch is complete; at it, ties may be missing.
          .filter((h) => complete || h.distance < edge)
          .sort(compareNear);
        if (hits.length >= need || complete) {
          const page = hits.slice(0, limit);
          const result: Page = {
            hits: page.map((h) => ({ place: toPlace(h.doc), distance: h.distance })),
          };
          const last = page[page.length - 1];
          if (hits.length > limit && last !== undefined)
            result.next = encodeNearCursor({ distance: last.distance, id: last.id });
          return result;
        }
        fetch *= 2;
      }
    });
  }

  within(query: WithinQuery): Promise<Page> {
    return this.run("within", (c) =>
      this.idPage(c, withinQuery(query.shape), query.limit, query.filter, query.cursor?.id),
    );
  }

  intersects(query: IntersectsQuery): Promise<Page> {
    return this.run("intersects", (c) =>
      this.idPage(c, intersectsQuery(query.geometry), query.limit, query.filter, query.cursor?.id),
    );
  }

  private async idPage(
    c: Connected,
    geo: Document,
    limit: number,
    filter: Filter | undefined,
    after: string | undefined,
  ): Promise<Page> {
    if (limit <= 0) return { hits: [] };
    const q = and(geo, mongoFilter(filter), after === undefined ? {} : { _id: { $gt: after } });
    const docs = await c.places
      .find(q, {
        sort: { _id: 1 },
        limit: limit + 1,
        maxTimeMS: this.maxTimeMS,
        allowDiskUse: true,
      })
      .toArray();
    const hits = docs.slice(0, limit).map((d) => ({ place: toPlace(d) }));
    const page: Page = { hits };
    const last = hits[hits.length - 1];
    if (docs.length > limit && last !== undefined)
      page.next = encodeIdCursor({ id: last.place.id });
    return page;
  }

  count(query: CountQuery): Promise<number> {
    return this.run("count", async (c) => {
      const filter = mongoFilter(query.filter);
      const selection: Selection = query.selection;
      switch (selection.kind) {
        case "near": {
          const minDistance = selection.minDistance ?? 0;
          if (minDistance > selection.maxDistance) return 0;
          const [row] = await c.places
            .aggregate<{ n: number }>(
              [
                {
                  $geoNear: {
                    near: { type: "Point", coordinates: selection.point },
                    key: "location",
                    distanceField: DISTANCE_FIELD,
                    spherical: true,
                    query: filter,
                    minDistance: widenDown(minDistance),
                    maxDistance: widenUp(selection.maxDistance),
                  },
                },
                {
                  $match: { [DISTANCE_FIELD]: { $gte: minDistance, $lte: selection.maxDistance } },
                },
                { $count: "n" },
              ],
              { maxTimeMS: this.maxTimeMS },
            )
            .toArray();
          return row?.n ?? 0;
        }
        case "within":
          return c.places.countDocuments(and(withinQuery(selection.shape), filter), {
            maxTimeMS: this.maxTimeMS,
          });
        case "intersects":
          return c.places.countDocuments(and(intersectsQuery(selection.geometry), filter), {
            maxTimeMS: this.maxTimeMS,
          });
      }
    });
  }

  aggregate(query: AggregateQuery): Promise<GridCounts> {
    return this.run("aggregate", async (c) => {
      const { box, cells } = query;
      const rows = await c.places
        .aggregate<{ _id: number; n: number }>(
          [
            { $match: and(boxQuery(box), mongoFilter(query.filter)) },
            { $group: { _id: aggregateCellExpression(box, cells), n: { $sum: 1 } } },
          ],
          { maxTimeMS: this.maxTimeMS, allowDiskUse: true },
        )
        .toArray();
      const counts = new Array<number>(cells[0] * cells[1]).fill(0);
      for (const { _id, n } of rows) {
        const cell = Number(_id);
        if (Number.isInteger(cell) && cell >= 0 && cell < counts.length)
          counts[cell] = (counts[cell] ?? 0) + Number(n);
      }
      return { box, cells: [cells[0], cells[1]], counts };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  upsert(places: readonly PlaceInput[], options?: UpsertOptions): Promise<UpsertOutcome[]> {
    let prepared: Place[];
    try {
      prepared = preparePlaces(places);
    } catch (error) {
      return Promise.reject(
        error instanceof Error ? error : new GeomeshError("VALIDATION_FAILED", "invalid places"),
      );
    }
    return this.run("upsert", async (c) => {
      if (prepared.length === 0) return [];
      return this.inTransaction(c, async (session) => {
        const before = new Map<string, LngLat>();
        const found = c.places.find(
          { _id: { $in: prepared.map((p) => p.id) } },
          {
            projection: { location: 1 },
            maxTimeMS: this.maxTimeMS,
            ...(session ? { session } : {}),
          },
        );
        for await (const doc of found)
          before.set(doc._id, [doc.location.coordinates[0], doc.location.coordinates[1]]);
        const ops: AnyBulkWriteOperation<PlaceDocument>[] = prepared.map((p) => ({
          replaceOne: { filter: { _id: p.id }, replacement: toDocument(p), upsert: true },
        }));
        const first = await this.reserveSeqs(c, prepared.length, session);
        await c.places.bulkWrite(ops, { ordered: true, ...(session ? { session } : {}) });
        const at = new Date().toISOString();
        const changes = prepared.map((p, i): PlaceChange => {
          const previous = before.get(p.id);
          const move = options?.moves?.[p.id];
          return {
            seq: first + i,
            kind: previous ? "updated" : "created",
            place: p,
            ...(previous ? { previous } : {}),
            ...(move ? { move: structuredClone(move) } : {}),
            at,
          };
        });
        await this.appendChanges(c, changes, session);
        return changes.map((change): UpsertOutcome => ({
          id: change.place.id,
          status: change.kind === "created" ? "created" : "updated",
          change,
        }));
      });
    });
  }

  /** Runs `fn` in a transaction on replica sets (majority commit), directly on a standalone server. */
  private async inTransaction<T>(
    c: Connected,
    fn: (session: ClientSession | undefined) => Promise<T>,
  ): Promise<T> {
    if (!c.replicated) return fn(undefined);
    const session = c.client.startSession();
    try {
      return await session.withTransaction(() => fn(session), {
        writeConcern: { w: "majority" },
        maxCommitTimeMS: this.maxTimeMS,
      });
    } finally {
      await session.endSession();
    }
  }

  /** Reserves `n` consecutive change numbers; returns the first. */
  private async reserveSeqs(
    c: Connected,
    n: number,
    session: ClientSession | undefined,
  ): Promise<number> {
    const doc = await c.counters.findOneAndUpdate(
      { _id: "changes" },
      { $inc: { seq: n } },
      { upsert: true, returnDocument: "after", ...(session ? { session } : {}) },
    );
    if (doc === null)
      throw new GeomeshError("STORE_UNAVAILABLE", "the change counter could not be read");
    return doc.seq - n + 1;
  }

  private async appendChanges(
    c: Connected,
    changes: readonly PlaceChange[],
    session: ClientSession | undefined,
  ): Promise<void> {
    const opts = session ? { session } : {};
    await c.changes.insertMany(
      changes.map((ch) => ({
        _id: ch.seq,
        kind: ch.kind,
        place: toDocument(ch.place),
        ...(ch.previous ? { previous: ch.previous } : {}),
        ...(ch.move ? { move: ch.move } : {}),
        at: ch.at,
      })),
      opts,
    );
    const last = changes[changes.length - 1]!.seq;
    // Prune now and then (whenever a batch crosses a multiple of 1024).
    if (Math.floor(last / 1024) !== Math.floor((last - changes.length) / 1024))
      await c.changes.deleteMany({ _id: { $lte: last - CHANGES_KEPT } }, opts);
  }

  changesSince(seq: number, limit: number): Promise<PlaceChange[]> {
    return this.run("changesSince", async (c) => {
      const docs = await c.changes
        .find({ _id: { $gt: Math.max(0, Math.floor(seq)) } }, { maxTimeMS: this.maxTimeMS })
        .sort({ _id: 1 })
        .limit(Math.max(0, Math.floor(limit)))
        .toArray();
      return docs.map((d): PlaceChange => ({
        seq: d._id,
        kind: d.kind,
        place: toPlace(d.place),
        ...(d.previous ? { previous: [d.previous[0], d.previous[1]] as LngLat } : {}),
        ...(d.move ? { move: d.move } : {}),
        at: d.at,
      }));
    });
  }

  changeRange(): Promise<ChangeRange> {
    return this.run("changeRange", async (c) => {
      const edge = async (direction: 1 | -1) =>
        (
          await c.changes.findOne(
            {},
            { sort: { _id: direction }, projection: { _id: 1 }, maxTimeMS: this.maxTimeMS },
          )
        )?._id ?? 0;
      return { first: await edge(1), last: await edge(-1) };
    });
  }

  get(id: string): Promise<Place | undefined> {
    return this.run("get", async (c) => {
      const doc = await c.places.findOne({ _id: id }, { maxTimeMS: this.maxTimeMS });
      return doc === null ? undefined : toPlace(doc);
    });
  }

  delete(id: string, options?: DeleteOptions): Promise<PlaceChange | undefined> {
    return this.run("delete", (c) =>
      this.inTransaction(c, async (session) => {
        const doc = await c.places.findOneAndDelete(
          { _id: id },
          { maxTimeMS: this.maxTimeMS, ...(session ? { session } : {}) },
        );
        if (doc === null) return undefined;
        const seq = await this.reserveSeqs(c, 1, session);
        const change: PlaceChange = {
          seq,
          kind: "deleted",
          place: toPlace(doc),
          ...(options?.move ? { move: structuredClone(options.move) } : {}),
          at: new Date().toISOString(),
        };
        await this.appendChanges(c, [change], session);
        return change;
      }),
    );
  }

  stats(): Promise<StoreStats> {
    return this.run("stats", async (c) => {
      const count = await c.places.countDocuments({}, { maxTimeMS: this.maxTimeMS });
      try {
        const [s] = await c.places
          .aggregate<{ storageStats?: { storageSize?: unknown; totalIndexSize?: unknown } }>([
            { $collStats: { storageStats: {} } },
          ])
          .toArray();
        const storage =
          Number(s?.storageStats?.storageSize ?? Number.NaN) +
          Number(s?.storageStats?.totalIndexSize ?? 0);
        return Number.isFinite(storage) ? { count, bytes: storage } : { count };
      } catch {
        // $collStats needs a privilege some deployments withhold; the size is optional.
        return { count };
      }
    });
  }
}
