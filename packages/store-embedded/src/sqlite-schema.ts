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
 * - since version 5 a created or updated change stores `place` as `''` while its row is as the
 *   change left it: the place is then read from `places` (row `pk`), so a load writes each place
 *   once, not twice. `places.seq` is the seq of the change that last wrote the row; a write that
 *   updates or deletes the row first stores the place as JSON in that change (if it still holds
 *   `''`), so every change reads the place as it was after it. Deletes store the removed place.
 *
 * `PRAGMA user_version` is the schema version; a file from a newer version is refused.
 */
import type BetterSqlite3 from "better-sqlite3";
import { GeomeshError } from "@geomesh/errors";

/** Schema version written to `PRAGMA user_version`. */
export const SCHEMA_VERSION = 5;

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
  updated_at TEXT NOT NULL,
  seq INTEGER
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
      // a version-2 file's changes table gains the move column, a version-3 file's the pk column,
      // a version-4 file's places table the seq column (NULL: its changes all hold their place).
      db.exec(DDL);
      const columns = (table: string): unknown[] =>
        db.prepare("SELECT name FROM pragma_table_info(?)").pluck().all(table);
      const changes = columns("changes");
      if (!changes.includes("move")) db.exec("ALTER TABLE changes ADD COLUMN move TEXT");
      if (!changes.includes("pk")) db.exec("ALTER TABLE changes ADD COLUMN pk INTEGER");
      if (!columns("places").includes("seq")) db.exec("ALTER TABLE places ADD COLUMN seq INTEGER");
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
