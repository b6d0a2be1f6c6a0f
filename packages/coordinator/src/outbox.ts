import { GeomeshError } from "@geomesh/errors";
import type { GeoStore } from "@geomesh/store";
import { type PlaceEvent, placeEventOf } from "./place-event.js";

/**
 * `changes.since@REGION`: reads a region's outbox — the committed changes its store keeps (at
 * least `CHANGES_KEPT`) — as place events, the same events the region's broker publishes. Gateways
 * refill a gap in a live feed with it. Body `{"since": n, "limit": m}` (events with seq > n, at
 * most m ≤ 1000); reply `{"events": [...], "first": f, "last": l}`, where `first`..`last` is
 * what the outbox holds now (a number in that range that is not returned was never committed).
 */
export const CHANGES_SINCE_SERVICE = "changes.since";

/** Most events one `changes.since` reply carries. */
export const CHANGES_SINCE_MAX = 1000;

export interface ChangesSinceBody {
  readonly since: number;
  readonly limit: number;
}

export interface ChangesSinceReply {
  readonly events: PlaceEvent[];
  readonly first: number;
  readonly last: number;
}

/** Checks a `changes.since` body from the wire. */
export function parseChangesSinceBody(body: unknown): ChangesSinceBody {
  const bad = (message: string, field: string) =>
    new GeomeshError("VALIDATION_FAILED", message, { data: { field } });
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new GeomeshError("BAD_REQUEST", 'body must be {"since": n, "limit": m}');
  const extra = Object.keys(body).find((k) => k !== "since" && k !== "limit");
  if (extra !== undefined) throw bad(`unknown field ${JSON.stringify(extra.slice(0, 40))}`, extra);
  const { since, limit = CHANGES_SINCE_MAX } = body as { since?: unknown; limit?: unknown };
  if (typeof since !== "number" || !Number.isSafeInteger(since) || since < 0)
    throw bad("since must be an integer ≥ 0", "since");
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1)
    throw bad("limit must be an integer ≥ 1", "limit");
  if (limit > CHANGES_SINCE_MAX) throw bad(`limit must be at most ${CHANGES_SINCE_MAX}`, "limit");
  return { since, limit };
}

/** Answers `changes.since` from a region's store. */
export async function changesSince(
  store: GeoStore,
  region: string,
  body: ChangesSinceBody,
): Promise<ChangesSinceReply> {
  // The range first: a change committed between the two reads is then inside what is returned
  // or beyond `last`, never inside the range yet missing from the events.
  const range = await store.changeRange();
  const changes = await store.changesSince(body.since, body.limit);
  return {
    events: changes.filter((c) => c.seq <= range.last).map((c) => placeEventOf(region, c)),
    first: range.first,
    last: range.last,
  };
}
