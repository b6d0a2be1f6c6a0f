import { GeomeshError } from "@geomesh/errors";
import {
  type Page,
  type RegionMap,
  type ReplyForm,
  type ServiceRequest,
  completePlace,
} from "@geomesh/geo";
import type { ChangeMove, GeoStore, PlaceChange } from "@geomesh/store";
import {
  type RegionPage,
  pageToFeatureCollection,
  pageToHits,
  placeToFeature,
} from "./features.js";

/**
 * Runs one leaf request (`<service>@<region>`) against that region's store and returns the
 * JSON reply. Writes are checked for ownership: a place is written only to the region that
 * owns its location (the 50 km rule included). `onChange` hears every committed change (after
 * the store's transaction, in seq order) — the worker publishes them as place events. A change
 * that is half of a cross-region move carries it (`change.move`), kept in the store's outbox.
 */
export async function executeLeaf(
  store: GeoStore,
  region: string,
  map: RegionMap,
  request: ServiceRequest,
  onChange?: (region: string, change: PlaceChange) => void,
): Promise<unknown> {
  switch (request.service) {
    case "geo.near":
      return pageReply(await store.near(request.query), region, request.reply);
    case "geo.within":
      return pageReply(await store.within(request.query), region, request.reply);
    case "geo.intersects":
      return pageReply(await store.intersects(request.query), region, request.reply);
    case "geo.count":
      return { count: await store.count(request.query) };
    case "geo.aggregate":
      return await store.aggregate(request.query);
    case "place.upsert": {
      request.places.forEach((p, i) => {
        const owner = map.requireRegionOf(
          p.location.coordinates,
          request.batch ? `places[${i}].location.coordinates` : "location.coordinates",
        );
        if (owner !== region) {
          throw new GeomeshError(
            "GEO_OUT_OF_REGION",
            `${request.batch ? `places[${i}]` : "place"} ${JSON.stringify(p.id)} lies in region ${owner}, not ${region}`,
            {
              data: { field: request.batch ? `places[${i}].location` : "location", owner },
            },
          );
        }
      });
      const now = new Date();
      const moves: Record<string, ChangeMove> = {};
      for (const [id, from] of Object.entries(request.moved ?? {}))
        moves[id] = { movedFrom: from.from, previous: from.location };
      const outcomes = await store.upsert(
        request.places.map((p) => completePlace(p, now)),
        request.moved ? { moves } : undefined,
      );
      if (onChange) for (const o of outcomes) onChange(region, o.change);
      return { results: outcomes.map((o) => ({ id: o.id, status: o.status, region })) };
    }
    case "place.get": {
      if ("ids" in request) {
        const hits = [];
        for (const id of request.ids) {
          const place = await store.get(id);
          if (place) hits.push({ place, region });
        }
        return pageToFeatureCollection({ hits });
      }
      const place = await store.get(request.id);
      if (!place)
        throw new GeomeshError("NOT_FOUND", `no place with id ${JSON.stringify(request.id)}`);
      return placeToFeature(place, region);
    }
    case "place.delete": {
      const change = await store.delete(
        request.id,
        request.movedTo ? { move: { movedTo: request.movedTo } } : undefined,
      );
      if (change && onChange) onChange(region, change);
      return { id: request.id, deleted: change !== undefined, region };
    }
  }
}

/** A page as asked: compact hits for coordinators, else a FeatureCollection. */
function pageReply(page: Page, region: string, form: ReplyForm | undefined): unknown {
  return form === "hits" ? pageToHits(page) : pageToFeatureCollection(tag(page, region));
}

function tag(page: Page, region: string): RegionPage {
  const out: RegionPage = { hits: page.hits.map((h) => ({ ...h, region })) };
  if (page.next !== undefined) out.next = page.next;
  return out;
}
