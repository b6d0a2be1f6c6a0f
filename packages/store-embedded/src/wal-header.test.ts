import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { WalHeaderWatch, walHeaderMappable } from "./wal-header.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function walFile(): { path: string; a: Database.Database; b: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), "geomesh-walhdr-"));
  dirs.push(dir);
  const path = join(dir, "f.sqlite");
  const a = new Database(path);
  a.pragma("journal_mode = WAL");
  a.exec("CREATE TABLE t (x INTEGER)");
  const b = new Database(path);
  b.prepare("SELECT count(*) FROM t").get();
  return { path, a, b };
}

describe("WalHeaderWatch", () => {
  it("is built with this install (the native addon maps the -shm file)", () => {
    expect(walHeaderMappable()).toBe(true);
  });

  it("says unchanged only after a mark, and not after any connection commits", () => {
    const { path, a, b } = walFile();
    const watch = WalHeaderWatch.open(path)!;
    expect(watch).toBeDefined();
    expect(watch.unchanged()).toBe(false); // no mark yet
    expect(watch.read()).toBe(true);
    watch.markRead();
    expect(watch.unchanged()).toBe(true);
    b.prepare("SELECT count(*) FROM t").get(); // reads change nothing
    expect(watch.unchanged()).toBe(true);
    for (let i = 0; i < 50; i++) {
      (i % 2 === 0 ? a : b).prepare("INSERT INTO t VALUES (?)").run(i);
      expect(watch.unchanged()).toBe(false);
      expect(watch.read()).toBe(true);
      watch.markRead();
      expect(watch.unchanged()).toBe(true);
    }
    // A checkpoint that restarts the log, then a commit: still seen.
    a.pragma("wal_checkpoint(TRUNCATE)");
    b.prepare("INSERT INTO t VALUES (1)").run();
    expect(watch.unchanged()).toBe(false);
    watch.forget();
    expect(watch.unchanged()).toBe(false);
    a.close();
    b.close();
  });

  it("returns undefined for a database without a -shm file, and rejects short files", () => {
    const dir = mkdtempSync(join(tmpdir(), "geomesh-walhdr-"));
    dirs.push(dir);
    expect(WalHeaderWatch.open(join(dir, "missing.sqlite"))).toBeUndefined();
    const rollback = new Database(join(dir, "r.sqlite"));
    rollback.exec("CREATE TABLE t (x)");
    expect(WalHeaderWatch.open(join(dir, "r.sqlite"))).toBeUndefined();
    rollback.close();
  });
});
