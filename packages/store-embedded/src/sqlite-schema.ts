/**
 * The on-disk layout of an embedded region store (one SQLite file per region).
 *
 * - `places`: one row per place. `pk` is the rowid; `cell` is the point's Hilbert key (see
 *   `hilbert-cell.ts`); `lng`/`lat` are the exact coordinates; `tags` and `properties` are JSON.
 * - `places_cell (cell, lng, lat)`: the spatial index. It is covering for the index phase of every
 *   geo query — a range scan yields the rowid and exact coordinates without touching the table.
 * - the UNIQUE constraint on `id` gives the id index used by get/upsert/delete and id-ordered pages.
 * - `meta`: the region the file was created for.
 * - `changes`: the outbox of committed writes (since version 2). `seq` numbers them in commit
 *   order (AUTOINCREMENT: never reused, even after pruning); `place` is the place as JSON after
 *   the write (as removed, for deletes); `prev_lng`/`prev_lat` the location an update moved from;
 *   `move` (since version 3) the cross-region move the change is half of, as JSON, else NULL;
 *   `pk` (since version 4) the place's row, so a process can apply others' writes to its in-memory
 *   cell index (NULL in changes an older build wrote: a reader then rebuilds from `places`).
 *
 * `PRAGMA user_version` is the schema version; a file from a newer version is refused.
 */
import type BetterSqlite3 from "better-sqlite3";
import { GeomeshError } from "@geomesh/errors";

/** Schema version written to `PRAGMA user_version`. */
export const SCHEMA_VERSION = 4;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS places (
  pk INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  cell INTEGER NOT NULL,
  lng REAL NOT NULL,
  lat REAL NOT NULL,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  tags TEXT NOT NULL,
  properties TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS places_cell ON places (cell, lng, lat);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  place TEXT NOT NULL,
  prev_lng REAL,
  prev_lat REAL,
  at TEXT NOT NULL,
  move TEXT,
  pk INTEGER
);
`;

/**
 * Creates or checks the schema inside one IMMEDIATE transaction, so several processes opening a
 * new file at once serialise on the write lock (waiting up to the busy timeout) instead of racing.
 */
export function migrate(db: BetterSqlite3.Database, region: string): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new GeomeshError(
        "STORE_UNAVAILABLE",
        `the store file has schema version ${version}; this build reads up to ${SCHEMA_VERSION}`,
      );
    }
    if (version < SCHEMA_VERSION) {
      // Every statement is IF NOT EXISTS: a version-1 file gains the changes table, nothing else;
      // a version-2 file's changes table gains the move column, a version-3 file's the pk column.
      db.exec(DDL);
      const columns = db.prepare("SELECT name FROM pragma_table_info('changes')").pluck().all();
      if (!columns.includes("move")) db.exec("ALTER TABLE changes ADD COLUMN move TEXT");
      if (!columns.includes("pk")) db.exec("ALTER TABLE changes ADD COLUMN pk INTEGER");
      db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('region', ?)").run(region);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    const stored = db.prepare("SELECT value FROM meta WHERE key = 'region'").pluck().get() as
      string | undefined;
    if (stored !== undefined && stored !== region) {
      throw new GeomeshError(
        "CONFIG_INVALID",
        `the store file belongs to region "${stored}", not "${region}"`,
        {
          data: { field: "store" },
        },
      );
    }
  }).immediate();
}
