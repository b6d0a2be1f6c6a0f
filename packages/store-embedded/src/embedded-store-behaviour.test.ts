import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { createStore } from "@geomesh/store";
import type { Place, PlaceInput } from "@geomesh/geo";
import type { UpsertOutcome } from "@geomesh/store";
import { place } from "@geomesh/store/testing";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedGeoStore, type EmbeddedStoreOptions } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "geomesh-embedded-behaviour-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `b-${++n}.sqlite`);

/** Two stores on one new file; `b` with `options` on top. */
async function twoStores(
  options: Partial<EmbeddedStoreOptions> = {},
): Promise<{ path: string; a: EmbeddedGeoStore; b: EmbeddedGeoStore }> {
  const path = fresh();
  const a = new EmbeddedGeoStore({ path, region: "NE" });
  const b = new EmbeddedGeoStore({ path, region: "NE", ...options });
  await a.init();
  await b.init();
  return { path, a, b };
}

/**
 * A file written by this build with `places`, then edited by `makeOlder` (through a raw
 * connection) to look like one an older build wrote.
 */
async function olderFile(
  places: PlaceInput[],
  makeOlder: string | ((raw: Database.Database) => void),
): Promise<{ path: string; outcomes: UpsertOutcome[] }> {
  const path = fresh();
  const store = new EmbeddedGeoStore({ path, region: "NE" });
  await store.init();
  const outcomes = await store.upsert(places);
  await store.close();
  const raw = new Database(path);
  if (typeof makeOlder === "string") raw.exec(makeOlder);
  else makeOlder(raw);
  raw.close();
  return { path, outcomes };
}

describe("embedded store specifics", () => {
  it("is created from a sqlite: URI through the store registry", async () => {
    const path = fresh();
    const store = createStore(`sqlite:${path}`, { region: "NE" });
    expect(store).toBeInstanceOf(EmbeddedGeoStore);
    await store.init();
    await store.upsert([place("a", [0, 0])]);
    expect((await store.stats()).bytes).toBeGreaterThan(0);
    await store.close();
  });

  it("checkpoints the WAL after walCheckpointPages pages, not SQLite's 1000", async () => {
    // Many small commits: the WAL file only grows past a checkpoint's threshold when no
    // checkpoint resets it, so its size shows which threshold the connection uses.
    const walBytes = async (walCheckpointPages: number): Promise<number> => {
      const path = fresh();
      const store = new EmbeddedGeoStore({ path, region: "NE", walCheckpointPages });
      await store.init();
      for (let b = 0; b < 60; b++)
        await store.upsert(
          Array.from({ length: 200 }, (_, i) =>
            place(`p${b}-${i}`, [((b * 200 + i) * 0.0137) % 60, ((b * 200 + i) * 0.0071) % 40]),
          ),
        );
      const bytes = statSync(`${path}-wal`).size;
      await store.close();
      return bytes;
    };
    const small = await walBytes(50);
    const large = await walBytes(20_000);
    expect(small).toBeLessThan(2 * 2 ** 20);
    expect(large).toBeGreaterThan(3 * small);
  });

  it("makes new files with 16 KiB pages (or pageSize), leaves an existing file's alone, refuses odd sizes", async () => {
    const pageSizeOf = (path: string): number => {
      const raw = new Database(path, { readonly: true });
      const size = raw.pragma("page_size", { simple: true }) as number;
      raw.close();
      return size;
    };
    const path = fresh();
    const store = new EmbeddedGeoStore({ path, region: "NE" });
    await store.init();
    await store.upsert([place("a", [1, 2])]);
    await store.close();
    expect(pageSizeOf(path)).toBe(16_384);

    const small = fresh();
    const made = new EmbeddedGeoStore({ path: small, region: "NE", pageSize: 4096 });
    await made.init();
    await made.upsert([place("a", [1, 2])]);
    await made.close();
    const reopened = new EmbeddedGeoStore({ path: small, region: "NE", pageSize: 65_536 });
    await reopened.init();
    expect((await reopened.get("a"))?.id).toBe("a");
    await reopened.close();
    expect(pageSizeOf(small)).toBe(4096);

    for (const pageSize of [0, 1000, 256, 131_072, 4096.5, Number.NaN]) {
      const bad = new EmbeddedGeoStore({ path: fresh(), region: "NE", pageSize });
      await expect(bad.init()).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    }
  });

  it("uses WAL journaling in the file it creates", async () => {
    const path = fresh();
    const store = new EmbeddedGeoStore({ path, region: "NE" });
    await store.init();
    const raw = new Database(path);
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
    await store.close();
  });

  it("upgrades a schema-1 file in place: places kept, changes numbered from 1", async () => {
    // A file written before the changes table existed.
    const { path } = await olderFile(
      [place("old", [1, 1])],
      "DROP TABLE changes; PRAGMA user_version = 1;",
    );
    const again = new EmbeddedGeoStore({ path, region: "NE" });
    await again.init();
    expect((await again.get("old"))?.id).toBe("old");
    const [outcome] = await again.upsert([place("new", [2, 2])]);
    expect(outcome!.change.seq).toBe(1);
    const check = new Database(path);
    expect(check.pragma("user_version", { simple: true })).toBe(5);
    check.close();
    await again.close();
  });

  it("upgrades a schema-2 file in place: its outbox gains the move column, old changes kept", async () => {
    // A file written before changes kept their move.
    const {
      path,
      outcomes: [before],
    } = await olderFile(
      [place("old", [1, 1])],
      "ALTER TABLE changes DROP COLUMN move; PRAGMA user_version = 2;",
    );
    const again = new EmbeddedGeoStore({ path, region: "NE" });
    await again.init();
    const [moved] = await again.upsert([place("in", [2, 2])], {
      moves: { in: { movedFrom: "MW", previous: [-90, 40] } },
    });
    expect(moved!.change.seq).toBe(2);
    expect(await again.changesSince(0, 10)).toEqual([before!.change, moved!.change]);
    expect(await again.changeRange()).toEqual({ first: 1, last: 2 });
    const check = new Database(path);
    expect(check.pragma("user_version", { simple: true })).toBe(5);
    check.close();
    await again.close();
  });

  it("upgrades a schema-3 file in place: its outbox gains the pk column, near() still right", async () => {
    // A file written before changes kept their row's pk.
    const { path } = await olderFile(
      [place("old", [1, 1]), place("far", [5, 5])],
      "ALTER TABLE changes DROP COLUMN pk; PRAGMA user_version = 3;",
    );
    const again = new EmbeddedGeoStore({ path, region: "NE" });
    const other = new EmbeddedGeoStore({ path, region: "NE" });
    await again.init();
    await other.init();
    await again.upsert([place("new", [1.1, 1])]);
    // The other connection replays the outbox; the old rows' pk is NULL, so it reloads instead.
    expect((await other.near({ point: [1, 1], limit: 3 })).hits.map((h) => h.place.id)).toEqual([
      "old",
      "new",
      "far",
    ]);
    const check = new Database(path);
    expect(check.pragma("user_version", { simple: true })).toBe(5);
    expect(check.prepare("SELECT pk FROM changes ORDER BY seq").pluck().all()).toEqual([
      null,
      null,
      3,
    ]);
    check.close();
    await again.close();
    await other.close();
  });

  it("numbers changes from two stores on one file without gaps or repeats", async () => {
    const { a, b } = await twoStores();
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const store = i % 2 === 0 ? a : b;
      const [o] = await store.upsert([place(`p${i % 5}`, [i, 0])]);
      seqs.push(o!.change.seq);
    }
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await b.changesSince(0, 100)).map((c) => c.seq)).toEqual(seqs);
    await a.close();
    await b.close();
  });

  it("writes a created or updated place once: its change reads the row until the row changes", async () => {
    const { path, a, b } = await twoStores();
    const stored = (): unknown[] => {
      const raw = new Database(path, { readonly: true });
      const out = raw.prepare("SELECT place FROM changes ORDER BY seq").pluck().all();
      raw.close();
      return out;
    };
    const [created] = await a.upsert([{ ...place("x", [1, 1]), name: "first" }]);
    expect(stored()).toEqual([""]);
    // Another connection (with the row read from the file) sees the same change.
    expect(await b.changesSince(0, 10)).toEqual([created!.change]);
    const [updated] = await b.upsert([{ ...place("x", [2, 2]), name: "second" }]);
    const [again] = await a.upsert([{ ...place("x", [3, 3]), name: "third" }]);
    // Each update first stored the place the previous change left in the row.
    expect(stored().map((s) => (s === "" ? "" : (JSON.parse(s as string) as Place).name))).toEqual([
      "first",
      "second",
      "",
    ]);
    const removed = await b.delete("x");
    expect(removed!.place.name).toBe("third");
    const changes = await a.changesSince(0, 10);
    expect(changes).toEqual([created!.change, updated!.change, again!.change, removed]);
    expect(changes.map((c) => [c.kind, c.place.name, c.place.location.coordinates])).toEqual([
      ["created", "first", [1, 1]],
      ["updated", "second", [2, 2]],
      ["updated", "third", [3, 3]],
      ["deleted", "third", [3, 3]],
    ]);
    expect(stored().every((s) => s !== "")).toBe(true);
    // A new place may take the deleted row's pk: the old changes no longer read from it.
    const [reborn] = await a.upsert([{ ...place("y", [4, 4]), name: "fourth" }]);
    expect((await b.changesSince(0, 10)).map((c) => c.place.name)).toEqual([
      "first",
      "second",
      "third",
      "third",
      "fourth",
    ]);
    expect(reborn!.change.seq).toBe(5);
    await a.close();
    await b.close();
  });

  it("keeps a pruned change's row free to change, and fails loudly on a change whose row is gone", async () => {
    const path = fresh();
    const store = new EmbeddedGeoStore({ path, region: "NE" });
    await store.init();
    await store.upsert([place("a", [1, 1]), place("b", [2, 2])]);
    const raw = new Database(path);
    raw.exec("DELETE FROM changes WHERE seq = 1");
    raw.close();
    // a's change is gone: updating a stores nothing into it and loses nothing.
    await store.upsert([{ ...place("a", [1.5, 1]), name: "moved" }]);
    expect((await store.changesSince(0, 10)).map((c) => [c.seq, c.place.name])).toEqual([
      [2, place("b", [2, 2]).name],
      [3, "moved"],
    ]);
    // A file edited behind the store's back: b's row removed while its change reads from it.
    const edit = new Database(path);
    edit.exec("DELETE FROM places WHERE id = 'b'");
    edit.close();
    await expect(store.changesSince(0, 10)).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
      message: expect.stringContaining("change 2 reads its place from a row that is missing"),
    });
    await store.close();
  });

  it("upgrades a schema-4 file in place: its places gain the seq column, old changes kept", async () => {
    // A file written before changes read their place from the row.
    const { path } = await olderFile([place("old", [1, 1])], (raw) => {
      raw.exec("ALTER TABLE places DROP COLUMN seq; PRAGMA user_version = 4;");
      raw
        .prepare("UPDATE changes SET place = ?")
        .run(JSON.stringify({ ...place("old", [1, 1]), updatedAt: "2024-01-01T00:00:00.000Z" }));
    });
    const again = new EmbeddedGeoStore({ path, region: "NE" });
    await again.init();
    await again.upsert([{ ...place("old", [2, 2]), name: "newer" }]);
    const changes = await again.changesSince(0, 10);
    expect(changes.map((c) => [c.seq, c.kind, c.place.name, c.place.updatedAt])).toEqual([
      [1, "created", place("old", [1, 1]).name, "2024-01-01T00:00:00.000Z"],
      [2, "updated", "newer", changes[1]!.place.updatedAt],
    ]);
    const check = new Database(path);
    expect(check.pragma("user_version", { simple: true })).toBe(5);
    expect(check.prepare("SELECT seq FROM places").pluck().all()).toEqual([2]);
    check.close();
    await again.close();
  });

  it("refuses a file that belongs to another region", async () => {
    const path = fresh();
    const ne = new EmbeddedGeoStore({ path, region: "NE" });
    await ne.init();
    await ne.close();
    await expect(new EmbeddedGeoStore({ path, region: "SW" }).init()).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
  });

  it("fails with STORE_UNAVAILABLE before init and after close", async () => {
    const store = new EmbeddedGeoStore({ path: fresh(), region: "NE" });
    await expect(store.get("x")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    await store.init();
    await store.close();
    await expect(store.near({ point: [0, 0], limit: 1 })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
    await expect(store.init()).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
  });

  it("fails with STORE_UNAVAILABLE when the file cannot be opened", async () => {
    const store = new EmbeddedGeoStore({
      path: join(dir, "missing-dir", "x.sqlite"),
      region: "NE",
    });
    await expect(store.init()).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
  });

  it("waits for a writer holding a new file's lock before switching it to WAL", async () => {
    // Another process (here a thread, so it can let go while init blocks) has just created the
    // file and holds its write lock: SQLite answers the WAL switch SQLITE_BUSY at once, with no
    // busy handler, so the store's own wait is what keeps init from failing.
    const path = fresh();
    const holder = new Worker(
      `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))});
      const { parentPort } = require("node:worker_threads");
      const db = new Database(${JSON.stringify(path)});
      db.exec("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");
      parentPort.postMessage("locked");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      db.exec("COMMIT");
      db.close();`,
      { eval: true },
    );
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    await new Promise((resolve) => holder.once("message", resolve));
    const store = new EmbeddedGeoStore({ path, region: "NE", busyTimeoutMs: 10_000 });
    const started = Date.now();
    await store.init();
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await store.upsert([place("a", [0, 0])]);
    expect(await store.count({ selection: { kind: "near", point: [0, 0], maxDistance: 10 } })).toBe(
      1,
    );
    await store.close();
    await exited;
  });

  it("reports STORE_TIMEOUT when a new file's write lock outlasts the busy timeout at init", async () => {
    const path = fresh();
    const other = new Database(path);
    other.exec("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");
    try {
      const store = new EmbeddedGeoStore({ path, region: "NE", busyTimeoutMs: 150 });
      const started = Date.now();
      await expect(store.init()).rejects.toMatchObject({ code: "STORE_TIMEOUT", retryable: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
  });

  it("reports STORE_TIMEOUT when another writer holds the lock past the busy timeout", async () => {
    const path = fresh();
    const store = new EmbeddedGeoStore({ path, region: "NE", busyTimeoutMs: 100 });
    await store.init();
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      const started = Date.now();
      await expect(store.upsert([place("a", [0, 0])])).rejects.toMatchObject({
        code: "STORE_TIMEOUT",
        retryable: true,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      // Readers are not blocked by a writer in WAL mode.
      expect(
        await store.count({ selection: { kind: "near", point: [0, 0], maxDistance: 10 } }),
      ).toBe(0);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    await store.upsert([place("a", [0, 0])]);
    await store.close();
  });

  it("sees writes committed by another connection on the next query", async () => {
    const { a, b } = await twoStores();
    expect((await b.near({ point: [1, 1], limit: 1 })).hits).toHaveLength(0);
    await a.upsert([place("x", [1, 1])]);
    expect((await b.near({ point: [1, 1], limit: 1 })).hits.map((h) => h.place.id)).toEqual(["x"]);
    await a.delete("x");
    expect((await b.near({ point: [1, 1], limit: 1 })).hits).toHaveLength(0);
    await a.close();
    await b.close();
  });

  it("sees every commit of another connection on the very next near(), write after write", async () => {
    const { a, b } = await twoStores({ walCheckpointPages: 4 });
    for (let i = 0; i < 120; i++) {
      // b's near() answers without a transaction when nothing changed: each of a's commits (and
      // b's own, which checkpoint and restart the log every few pages) must still show.
      const writer = i % 3 === 2 ? b : a;
      await writer.upsert([place(`p${i}`, [10 - i / 100, 10])]);
      const hits = (await b.near({ point: [0, 10], limit: 1 })).hits.map((h) => h.place.id);
      expect(hits).toEqual([`p${i}`]);
      expect((await b.near({ point: [0, 10], limit: 1 })).hits[0]!.place.id).toBe(`p${i}`);
      if (i % 10 === 9) {
        await a.delete(`p${i}`);
        expect((await b.near({ point: [0, 10], limit: 1 })).hits[0]!.place.id).toBe(`p${i - 1}`);
        await a.upsert([place(`p${i}`, [10 - i / 100, 10])]);
      }
    }
    await a.close();
    await b.close();
  });

  it("never echoes stored values in error messages", async () => {
    const store = new EmbeddedGeoStore({ path: fresh(), region: "NE" });
    await store.init();
    const bad = place("secret-id-123", [0, 0], { name: "top secret name" });
    (bad.location.coordinates as number[])[0] = 500;
    const error = (await store.upsert([bad]).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: "GEO_INVALID_GEOMETRY" });
    expect(error.message).not.toContain("top secret");
    await store.close();
  });
});
