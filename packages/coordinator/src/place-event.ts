import type { LngLat } from "@geomesh/geo";
import type { PlaceChange } from "@geomesh/store";
import { type PlaceFeature, placeToFeature } from "./features.js";

/**
 * A committed change as published on a region broker's events socket (the JSON body of an
 * `event` message) and delivered to live subscribers. `seq` is the region's change number.
 */
export interface PlaceEvent {
  readonly type: "place.event";
  readonly region: string;
  readonly seq: number;
  readonly kind: PlaceChange["kind"];
  readonly id: string;
  /** The place after the change; for `deleted`, as it was removed. */
  readonly place: PlaceFeature;
  /** For `updated`: the location before. */
  readonly previous?: LngLat;
  readonly at: string;
}

/** The event of a store change. */
export function placeEventOf(region: string, change: PlaceChange): PlaceEvent {
  const event: PlaceEvent = {
    type: "place.event",
    region,
    seq: change.seq,
    kind: change.kind,
    id: change.place.id,
    place: placeToFeature(change.place, region),
    at: change.at,
  };
  return change.previous ? { ...event, previous: change.previous } : event;
}
