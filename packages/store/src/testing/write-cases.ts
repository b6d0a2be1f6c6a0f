/** Writes: upsert outcomes, moves, deletes, batch atomicity, lifecycle idempotence. */
import { isGeomeshError } from "@geomesh/errors";
import type { PlaceInput } from "@geomesh/geo";
import { describe, expect, it } from "vitest";
import type { ConformanceContext } from "./conformance-context.js";
import { idsOf, place } from "./place-fixtures.js";

const statuses = (outcomes: readonly { id: string; status: string }[]) =>
  outcomes.map(({ id, status }) => ({ id, status }));

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isGeomeshError(error), `expected a GeomeshError ${code}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

/** Registers the write cases. */
export function writeCases(ctx: ConformanceContext): void {
  describe("writes", () => {
    it("reports created then updated, and reads back the normalised place", async () => {
      const store = ctx.store();
      const first = place("w-1", [2.3522, 48.8566], {
        name: "Paris",
        category: "city",
        tags: ["capital"],
        properties: { pop: 2_100_000, nested: { a: [1, "x"] } },
      });
      expect(statuses(await store.upsert([first, place("w-2", [0, 0])]))).toEqual([
        { id: "w-1", status: "created" },
        { id: "w-2", status: "created" },
      ]);
      expect(statuses(await store.upsert([{ ...first, name: "Paris, France" }]))).toEqual([
        { id: "w-1", status: "updated" },
      ]);
      expect(await store.get("w-1")).toEqual({ ...first, name: "Paris, France" });
      expect((await store.stats()).count).toBe(2);
    });

    it("stamps updatedAt when absent and canonicalises a given one", async () => {
      const store = ctx.store();
      const before = Date.now();
      const { updatedAt: _omit, ...bare } = place("w-t", [1, 1]);
      await store.upsert([bare, place("w-u", [1, 2], { updatedAt: "2024-05-01T12:00:00+02:00" })]);
      const stamped = (await store.get("w-t"))?.updatedAt ?? "";
      expect(stamped).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Date.parse(stamped)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(stamped)).toBeLessThanOrEqual(Date.now() + 1000);
      expect((await store.get("w-u"))?.updatedAt).toBe("2024-05-01T10:00:00.000Z");
    });

    it("moves a place on upsert: the old position no longer finds it", async () => {
      const store = ctx.store();
      await store.upsert([place("mover", [10, 10]), place("anchor", [10.5, 10])]);
      expect(idsOf(await store.near({ point: [10, 10], limit: 1 }))).toEqual(["mover"]);
      expect(statuses(await store.upsert([place("mover", [-60, -30])]))).toEqual([
        { id: "mover", status: "updated" },
      ]);
      expect(idsOf(await store.near({ point: [10, 10], limit: 1 }))).toEqual(["anchor"]);
      expect(
        idsOf(
          await store.within({
            shape: { kind: "circle", center: [10, 10], radius: 1000 },
            limit: 10,
          }),
        ),
      ).toEqual([]);
      expect(idsOf(await store.near({ point: [-60, -30], limit: 1 }))).toEqual(["mover"]);
      expect((await store.get("mover"))?.location.coordinates).toEqual([-60, -30]);
      expect((await store.stats()).count).toBe(2);
    });

    it("deletes a place: a change once, then nothing, and queries no longer see it", async () => {
      const store = ctx.store();
      await store.upsert([place("d-1", [3, 3]), place("d-2", [3, 3.1])]);
      expect((await store.delete("d-1"))?.kind).toBe("deleted");
      expect(await store.delete("d-1")).toBeUndefined();
      expect(await store.get("d-1")).toBeUndefined();
      expect(idsOf(await store.near({ point: [3, 3], limit: 5 }))).toEqual(["d-2"]);
      expect(
        await store.count({ selection: { kind: "near", point: [3, 3], maxDistance: 100_000 } }),
      ).toBe(1);
    });

    it("writes nothing from a batch with one invalid place", async () => {
      const store = ctx.store();
      await store.upsert([place("keep", [5, 5], { name: "original" })]);
      const bad = place("bad", [0, 0]);
      (bad.location.coordinates as number[])[0] = 200;
      await expectCode(
        store.upsert([place("new-1", [1, 1]), place("keep", [6, 6], { name: "changed" }), bad]),
        "GEO_INVALID_GEOMETRY",
      );
      expect(await store.get("new-1")).toBeUndefined();
      expect((await store.get("keep"))?.name).toBe("original");
      expect((await store.stats()).count).toBe(1);
    });

    it("rejects a batch with a malformed place or duplicate ids before writing", async () => {
      const store = ctx.store();
      const noName = { ...place("x-1", [1, 1]), name: 42 } as unknown as PlaceInput;
      await expectCode(store.upsert([place("x-0", [0, 0]), noName]), "VALIDATION_FAILED");
      await expectCode(
        store.upsert([place("x-2", [0, 0]), place("x-2", [1, 1])]),
        "VALIDATION_FAILED",
      );
      const nan = place("x-3", [0, 0]);
      (nan.location.coordinates as number[])[1] = Number.NaN;
      await expectCode(store.upsert([nan]), "GEO_INVALID_GEOMETRY");
      await expectCode(
        store.upsert([place("x-4", [0, 0], { properties: { $where: "1" } })]),
        "VALIDATION_FAILED",
      );
      expect((await store.stats()).count).toBe(0);
    });

    it("numbers every committed write 1, 2, 3… in commit order and keeps them for changesSince", async () => {
      const store = ctx.store();
      const a = place("c-a", [1, 1]);
      const b = place("c-b", [2, 2]);
      const created = await store.upsert([a, b]);
      expect(created.map((o) => [o.change.seq, o.change.kind, o.change.place.id])).toEqual([
        [1, "created", "c-a"],
        [2, "created", "c-b"],
      ]);
      expect(created[0]!.change.previous).toBeUndefined();
      const moved = await store.upsert([
        { ...a, location: { type: "Point", coordinates: [5, 6] } },
      ]);
      expect(moved[0]!.change).toMatchObject({
        seq: 3,
        kind: "updated",
        previous: [1, 1],
        place: { id: "c-a", location: { coordinates: [5, 6] } },
      });
      const bad = place("c-bad", [0, 0]);
      (bad.location.coordinates as number[])[0] = 500;
      await expectCode(store.upsert([place("c-x", [0, 0]), bad]), "GEO_INVALID_GEOMETRY");
      const removed = await store.delete("c-b");
      expect(removed).toMatchObject({
        seq: 4,
        kind: "deleted",
        place: { id: "c-b", name: b.name },
      });
      expect(removed!.place.location.coordinates).toEqual([2, 2]);
      expect(Date.parse(removed!.at)).not.toBeNaN();
      expect(await store.delete("c-b")).toBeUndefined();
      const all = await store.changesSince(0, 100);
      expect(all.map((c) => [c.seq, c.kind, c.place.id])).toEqual([
        [1, "created", "c-a"],
        [2, "created", "c-b"],
        [3, "updated", "c-a"],
        [4, "deleted", "c-b"],
      ]);
      expect(all[2]).toEqual(moved[0]!.change);
      expect((await store.changesSince(2, 1)).map((c) => c.seq)).toEqual([3]);
      expect(await store.changesSince(4, 10)).toEqual([]);
      const next = await store.upsert([place("c-c", [3, 3])]);
      expect(next[0]!.change.seq).toBe(5);
    });

    it("keeps a change's move in the outbox and reports the outbox's range", async () => {
      const store = ctx.store();
      expect(await store.changeRange()).toEqual({ first: 0, last: 0 });
      const arriving = place("m-in", [4, 4]);
      const leaving = place("m-out", [5, 5]);
      const outcomes = await store.upsert([arriving, leaving], {
        moves: { "m-in": { movedFrom: "Elsewhere", previous: [-70.5, 41.25] } },
      });
      expect(outcomes[0]!.change.move).toEqual({
        movedFrom: "Elsewhere",
        previous: [-70.5, 41.25],
      });
      expect(outcomes[1]!.change.move).toBeUndefined();
      const target = place("m-out", [-100, 35], { name: "written there" });
      const removed = await store.delete("m-out", {
        move: { movedTo: { region: "SW", place: target } },
      });
      expect(removed?.move).toEqual({ movedTo: { region: "SW", place: target } });
      // Read back from the outbox, every change equals the one returned at commit, move included.
      const all = await store.changesSince(0, 10);
      expect(all).toEqual([outcomes[0]!.change, outcomes[1]!.change, removed]);
      expect(await store.changeRange()).toEqual({ first: 1, last: 3 });
      await store.upsert([place("m-more", [6, 6])]);
      expect(await store.changeRange()).toEqual({ first: 1, last: 4 });
    });

    it("accepts an empty batch as a no-op", async () => {
      const store = ctx.store();
      expect(await store.upsert([])).toEqual([]);
    });

    it("treats init and close as idempotent", async () => {
      const store = ctx.store();
      await store.init();
      await store.upsert([place("i-1", [0, 0])]);
      expect((await store.stats()).count).toBe(1);
    });
  });
}
