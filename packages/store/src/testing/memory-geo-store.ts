/**
 * A reference GeoStore in memory, answering from the brute-force oracles. It is the suite's own
 * control (the conformance suite must pass against it) and a fake for tests of store consumers.
 */
import { GeomeshError } from "@geomesh/errors";
import type {
  AggregateQuery,
  CountQuery,
  GridCounts,
  IntersectsQuery,
  NearQuery,
  Page,
  Place,
  PlaceInput,
  WithinQuery,
} from "@geomesh/geo";
import {
  bruteForceAggregate,
  bruteForceCount,
  bruteForceIntersects,
  bruteForceNear,
  bruteForceWithin,
} from "@geomesh/geo/testing";
import type {
  ChangeMove,
  ChangeRange,
  DeleteOptions,
  GeoStore,
  PlaceChange,
  StoreStats,
  UpsertOptions,
  UpsertOutcome,
} from "../geo-store.js";
import { preparePlaces } from "../place-checks.js";

/** O(n) per query: for tests only. */
export class MemoryGeoStore implements GeoStore {
  readonly kind = "memory";
  private readonly places = new Map<string, Place>();
  private readonly changes: PlaceChange[] = [];
  private state: "new" | "open" | "closed" = "new";

  init(): Promise<void> {
    if (this.state === "closed")
      return Promise.reject(new GeomeshError("STORE_UNAVAILABLE", "init: the store is closed"));
    this.state = "open";
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.state = "closed";
    return Promise.resolve();
  }

  private all(operation: string): Place[] {
    if (this.state !== "open")
      throw new GeomeshError(
        "STORE_UNAVAILABLE",
        `${operation}: the store is ${this.state === "new" ? "not initialised" : "closed"}`,
      );
    return [...this.places.values()];
  }

  private run<T>(operation: string, fn: (places: Place[]) => T): Promise<T> {
    try {
      // Copies, so callers cannot mutate stored places.
      return Promise.resolve(structuredClone(fn(this.all(operation))));
    } catch (error) {
      return Promise.reject(
        error instanceof Error ? error : new GeomeshError("INTERNAL", `${operation} failed`),
      );
    }
  }

  near(query: NearQuery): Promise<Page> {
    return this.run("near", (all) => bruteForceNear(all, query));
  }

  within(query: WithinQuery): Promise<Page> {
    return this.run("within", (all) => bruteForceWithin(all, query));
  }

  intersects(query: IntersectsQuery): Promise<Page> {
    return this.run("intersects", (all) => bruteForceIntersects(all, query));
  }

  count(query: CountQuery): Promise<number> {
    return this.run("count", (all) => bruteForceCount(all, query));
  }

  aggregate(query: AggregateQuery): Promise<GridCounts> {
    return this.run("aggregate", (all) => bruteForceAggregate(all, query));
  }

  upsert(places: readonly PlaceInput[], options?: UpsertOptions): Promise<UpsertOutcome[]> {
    return this.run("upsert", () => {
      const prepared = preparePlaces(places);
      return prepared.map((p): UpsertOutcome => {
        const before = this.places.get(p.id);
        this.places.set(p.id, structuredClone(p));
        const change = this.record(
          before ? "updated" : "created",
          p,
          before ? before.location.coordinates : undefined,
          options?.moves?.[p.id],
        );
        return { id: p.id, status: change.kind === "created" ? "created" : "updated", change };
      });
    });
  }

  private record(
    kind: PlaceChange["kind"],
    place: Place,
    previous: PlaceChange["previous"],
    move?: ChangeMove,
  ): PlaceChange {
    const change: PlaceChange = {
      seq: this.changes.length + 1,
      kind,
      place: structuredClone(place),
      ...(previous ? { previous: [...previous] } : {}),
      ...(move ? { move: structuredClone(move) } : {}),
      at: new Date().toISOString(),
    };
    this.changes.push(change);
    return change;
  }

  changesSince(seq: number, limit: number): Promise<PlaceChange[]> {
    return this.run("changesSince", () =>
      this.changes.slice(Math.max(0, seq), Math.max(0, seq) + Math.max(0, limit)),
    );
  }

  changeRange(): Promise<ChangeRange> {
    return this.run("changeRange", () =>
      this.changes.length === 0 ? { first: 0, last: 0 } : { first: 1, last: this.changes.length },
    );
  }

  get(id: string): Promise<Place | undefined> {
    return this.run("get", () => this.places.get(id));
  }

  delete(id: string, options?: DeleteOptions): Promise<PlaceChange | undefined> {
    return this.run("delete", () => {
      const before = this.places.get(id);
      if (!before) return undefined;
      this.places.delete(id);
      return this.record("deleted", before, undefined, options?.move);
    });
  }

  stats(): Promise<StoreStats> {
    return this.run("stats", (all) => ({ count: all.length }));
  }
}
