import { type LngLat, completePlace } from "@geomesh/geo";
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
  /** Where the place was before: for `updated`, and for `created` when it moved in from another region. */
  readonly previous?: LngLat;
  /** `created` by a move: the region it came from. */
  readonly movedFrom?: string;
  /** `deleted` by a move: the region it went to and the place as written there. */
  readonly movedTo?: { readonly region: string; readonly place: PlaceFeature };
  readonly at: string;
}

/**
 * The event of a store change (half of a cross-region move when `change.move` says so). A pure
 * function of the change: the event re-made from the outbox equals the one published at commit.
 */
export function placeEventOf(region: string, change: PlaceChange): PlaceEvent {
  const { move } = change;
  const previous = change.previous ?? move?.previous;
  return {
    type: "place.event",
    region,
    seq: change.seq,
    kind: change.kind,
    id: change.place.id,
    place: placeToFeature(change.place, region),
    ...(previous ? { previous } : {}),
    ...(move?.movedFrom ? { movedFrom: move.movedFrom } : {}),
    ...(move?.movedTo
      ? {
          movedTo: {
            region: move.movedTo.region,
            place: placeToFeature(completePlace(move.movedTo.place), move.movedTo.region),
          },
        }
      : {}),
    at: change.at,
  };
}
