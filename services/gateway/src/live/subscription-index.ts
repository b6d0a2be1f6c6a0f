import {
  type Filter,
  type LngLat,
  type Place,
  type Shape,
  matchesFilter,
  pointInShape,
  shapeBounds,
} from "@geomesh/geo";
import RBush from "rbush";

/** A live subscription: an area and an optional filter, owned by one WebSocket session. */
export interface LiveSubscription {
  readonly session: string;
  readonly id: string;
  readonly shape: Shape;
  readonly filter?: Filter;
  /** Regions whose events can touch the area. */
  readonly regions: readonly string[];
}

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  sub: LiveSubscription;
}

/** What a subscriber is told about one write, or nothing when it does not concern the area. */
export type LiveKind = "created" | "updated" | "deleted" | "enter" | "exit";

/**
 * Subscriptions by area in an R-tree of their bounding boxes (two boxes for an area crossing
 * the antimeridian), so an event is tested exactly only against the few areas whose boxes hold
 * one of its points.
 */
export class SubscriptionIndex {
  private readonly tree = new RBush<Entry>();
  private readonly entries = new Map<LiveSubscription, Entry[]>();

  get size(): number {
    return this.entries.size;
  }

  add(sub: LiveSubscription): void {
    const entries = shapeBounds(sub.shape).map(([[w, s], [e, n]]) => ({
      minX: w,
      minY: s,
      maxX: e,
      maxY: n,
      sub,
    }));
    for (const e of entries) this.tree.insert(e);
    this.entries.set(sub, entries);
  }

  remove(sub: LiveSubscription): void {
    for (const e of this.entries.get(sub) ?? []) this.tree.remove(e);
    this.entries.delete(sub);
  }

  /** Subscriptions whose bounding boxes hold any of the points (each once). */
  candidates(points: readonly LngLat[]): Set<LiveSubscription> {
    const out = new Set<LiveSubscription>();
    for (const [x, y] of points)
      for (const e of this.tree.search({ minX: x, minY: y, maxX: x, maxY: y })) out.add(e.sub);
    return out;
  }
}

/**
 * The notification one write gives one subscription (DESIGN: as Tile38's fences): with `before`
 * the location the place had (none when it is new) and `after` the place now (none when deleted),
 * inside means "in the area and passing the filter". A place that was in and stays in is
 * `updated`; one that comes in is `created` (new) or `enter`; one that goes out is `exit` or
 * `deleted`. The filter is judged on the place as the event carries it.
 */
export function classify(
  sub: Pick<LiveSubscription, "shape" | "filter">,
  before: LngLat | undefined,
  after: Place | undefined,
  removed: Place | undefined,
): LiveKind | undefined {
  if (removed)
    return pointInShape(removed.location.coordinates, sub.shape) &&
      matchesFilter(removed, sub.filter)
      ? "deleted"
      : undefined;
  if (!after) return undefined;
  const nowIn =
    pointInShape(after.location.coordinates, sub.shape) && matchesFilter(after, sub.filter);
  if (before === undefined) return nowIn ? "created" : undefined;
  const wasIn = pointInShape(before, sub.shape);
  if (wasIn && nowIn) return "updated";
  if (nowIn) return "enter";
  if (wasIn) return "exit";
  return undefined;
}

/**
 * The removal half of a move to another region: only subscriptions the place leaves hear of it
 * here (`exit`); the ones it stays in or enters hear it from the new region's event, so every
 * subscription gets one notification per move, whichever region's event arrives first.
 */
export function classifyMoveOut(
  sub: Pick<LiveSubscription, "shape" | "filter">,
  before: LngLat,
  after: Place,
): LiveKind | undefined {
  const nowIn =
    pointInShape(after.location.coordinates, sub.shape) && matchesFilter(after, sub.filter);
  return pointInShape(before, sub.shape) && !nowIn ? "exit" : undefined;
}
