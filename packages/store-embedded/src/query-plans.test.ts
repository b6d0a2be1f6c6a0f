import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedGeoStore } from "./embedded-geo-store.js";

const dir = mkdtempSync(join(tmpdir(), "geomesh-plans-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Statements that read every row on purpose: loading the whole cell index at open, `count(*)`
 * for stats, and the density model's sample of every point.
 */
const WHOLE_TABLE = new Set(["cellEntries", "count", "allPoints", "allRows"]);

/** `EXPLAIN QUERY PLAN` of `sql`, its parameters bound to NULL (their count found by trying). */
function plan(db: Database.Database, sql: string): string[] {
  const explain = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  for (let n = 0; n <= 16; n++) {
    try {
      return explain
        .all(...new Array<null>(n).fill(null))
        .map((r) => (r as { detail: string }).detail);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    }
  }
  throw new Error(`could not bind the parameters of ${sql}`);
}

describe("embedded store statements", () => {
  it("read the B-trees they need, never a whole table (but for the whole-table reads)", async () => {
    const path = join(dir, "plans.sqlite");
    const store = new EmbeddedGeoStore({ path, region: "TEST", synchronous: "normal" });
    await store.init();
    const sources = store.statementSources();
    const db = new Database(path, { readonly: true });
    try {
      // The outbox's ends are read at every sweep (each heartbeat, per region): a table scan
      // there once cost the cluster more CPU than its queries.
      expect([...sources.keys()]).toEqual(expect.arrayContaining(["changeRange", "pkBounds"]));
      const scans: string[] = [];
      for (const [name, sql] of sources) {
        if (WHOLE_TABLE.has(name)) continue;
        for (const step of plan(db, sql))
          if (/^SCAN (places|changes)\b/.test(step) && !/USING (COVERING )?INDEX/.test(step))
            scans.push(`${name}: ${step}`);
      }
      expect(scans).toEqual([]);
    } finally {
      db.close();
      await store.close();
    }
  });
});
