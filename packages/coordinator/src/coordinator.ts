import { GeomeshError } from "@geomesh/errors";
import {
  type AggregateQuery,
  type CountQuery,
  type LngLat,
  type MovedFrom,
  type IntersectsQuery,
  type NearQuery,
  type PlaceInput,
  type RegionMap,
  type ServiceRequest,
  type WithinQuery,
  kthDistance,
  mergeCounts,
  mergeGridCounts,
  mergeIdPages,
  mergeNearPages,
  completePlace,
  parseServiceBody,
  planNear,
} from "@geomesh/geo";
import {
  type RegionPage,
  featureCollectionToPage,
  featureToHit,
  pageToFeatureCollection,
  placeToFeature,
  readCount,
  readGrid,
} from "./features.js";

/**
 * Runs one leaf request against one region and resolves with its JSON reply. Implementations:
 * in-process (a worker holding the region's store) or over the broker (`<service>@<region>`).
 */
export type LeafCaller = (region: string, request: ServiceRequest) => Promise<unknown>;

/**
 * Splits a query into the regions it touches, asks them, and merges the answers so the result
 * equals one global index's (as mongos merge-sorts `$near` across shards). Used by workers for
 * unqualified requests, and by the gateway and the client SDK.
 */
export class Coordinator {
  constructor(
    readonly map: RegionMap,
    private readonly leaf: LeafCaller,
  ) {}

  /** Parses a wire body for `service` and runs it; returns the JSON reply. */
  async execute(service: string, body: unknown): Promise<unknown> {
    return this.run(parseServiceBody(service, body));
  }

  async run(request: ServiceRequest): Promise<unknown> {
    switch (request.service) {
      case "geo.near":
        return pageToFeatureCollection(await this.near(request.query));
      case "geo.within":
        return pageToFeatureCollection(await this.within(request.query));
      case "geo.intersects":
        return pageToFeatureCollection(await this.intersects(request.query));
      case "geo.count":
        return { count: await this.count(request.query) };
      case "geo.aggregate":
        return await this.aggregate(request.query);
      case "place.upsert":
        return { results: await this.upsert(request.places, request.batch) };
      case "place.get":
        return "ids" in request
          ? pageToFeatureCollection({ hits: await this.locate(request.ids) })
          : await this.get(request.id);
      case "place.delete":
        return await this.delete(request.id);
    }
  }

  /** kNN across regions: ask the nearest regions, then every region that could still beat the k-th hit. */
  async near(query: NearQuery): Promise<RegionPage> {
    const plan = planNear(query, this.map);
    const request: ServiceRequest = { service: "geo.near", query };
    const pages = new Map<string, RegionPage>();
    const ask = async (regions: readonly string[]) => {
      const got = await Promise.all(
        regions.map(
          async (r) => [r, featureCollectionToPage(await this.leaf(r, request), r)] as const,
        ),
      );
      for (const [r, page] of got) pages.set(r, page);
    };
    await ask(plan.first);
    let merged = mergeNearPages([...pages.values()], query.limit) as RegionPage;
    const further = plan.further(
      kthDistance(merged, query.limit),
      pages.keys(),
      merged.hits.length === query.limit && merged.next === undefined,
    );
    if (further.length > 0) {
      await ask(further);
      merged = mergeNearPages([...pages.values()], query.limit) as RegionPage;
    }
    return merged;
  }

  async within(query: WithinQuery): Promise<RegionPage> {
    return this.byId(
      this.map.regionsForShape(query.shape),
      { service: "geo.within", query },
      query.limit,
    );
  }

  async intersects(query: IntersectsQuery): Promise<RegionPage> {
    return this.byId(
      this.map.regionsForShape(query.geometry),
      { service: "geo.intersects", query },
      query.limit,
    );
  }

  async count(query: CountQuery): Promise<number> {
    const regions = this.map.regionsForSelection(query.selection);
    const counts = await Promise.all(
      regions.map(async (r) => readCount(await this.leaf(r, { service: "geo.count", query }))),
    );
    return mergeCounts(counts);
  }

  async aggregate(query: AggregateQuery): Promise<unknown> {
    const regions = this.map.regionsForBox(query.box);
    const grids = await Promise.all(
      regions.map(async (r) => readGrid(await this.leaf(r, { service: "geo.aggregate", query }))),
    );
    return (
      mergeGridCounts(grids) ?? {
        box: query.box,
        cells: query.cells,
        counts: new Array<number>(query.cells[0] * query.cells[1]).fill(0),
      }
    );
  }

  /**
   * Writes each place to the region that owns it. Ownership of every place is checked before
   * anything is written; each region's batch is atomic in its store. A place whose id lives in
   * another region (it moved across a border) is first removed there — marked as a move, so live
   * feeds report one change, not a delete and a create — so an id is never held by two regions.
   */
  async upsert(
    places: readonly PlaceInput[],
    batch: boolean,
  ): Promise<{ id: string; status: string; region: string }[]> {
    const byRegion = new Map<string, { index: number; place: PlaceInput }[]>();
    const ownerOf = new Map<string, string>();
    places.forEach((place, index) => {
      const region = this.map.requireRegionOf(
        place.location.coordinates,
        batch ? `places[${index}].location.coordinates` : "location.coordinates",
      );
      const list = byRegion.get(region) ?? [];
      list.push({ index, place });
      byRegion.set(region, list);
      ownerOf.set(place.id, region);
    });
    const moved = await this.relocate(places, ownerOf);
    const results = new Array<{ id: string; status: string; region: string }>(places.length);
    await Promise.all(
      [...byRegion].map(async ([region, items]) => {
        const movedHere: Record<string, MovedFrom> = {};
        for (const { place } of items) {
          const m = moved.get(place.id);
          if (m) movedHere[place.id] = m.from;
        }
        const reply = await this.leaf(region, {
          service: "place.upsert",
          places: items.map((i) => moved.get(i.place.id)?.place ?? i.place),
          batch: true,
          ...(Object.keys(movedHere).length > 0 ? { moved: movedHere } : {}),
        });
        const list = (reply as { results?: unknown }).results;
        if (!Array.isArray(list) || list.length !== items.length)
          throw new GeomeshError(
            "MALFORMED_REPLY",
            `region ${region} answered an upsert without one result per place`,
          );
        items.forEach((item, k) => {
          const r = list[k] as { id?: unknown; status?: unknown };
          // A place that moved in existed before (elsewhere): to the writer it is an update.
          const status = moved.has(item.place.id) ? "updated" : String(r.status);
          results[item.index] = { id: String(r.id), status, region };
        });
      }),
    );
    return results;
  }

  /**
   * Finds the places of a batch that another region holds, removes them there (as moves), and
   * returns, per moved id, where it was and the place to write — with `updatedAt` fixed here so
   * the removal and the write describe the same place.
   */
  private async relocate(
    places: readonly PlaceInput[],
    ownerOf: ReadonlyMap<string, string>,
  ): Promise<Map<string, { from: MovedFrom; place: PlaceInput }>> {
    const moved = new Map<string, { from: MovedFrom; place: PlaceInput }>();
    const byId = new Map(places.map((p) => [p.id, p]));
    const found = await Promise.all(
      this.map.names().map(async (region) => {
        const ids = places.filter((p) => ownerOf.get(p.id) !== region).map((p) => p.id);
        if (ids.length === 0) return [];
        const reply = await this.leaf(region, { service: "place.get", ids });
        return featureCollectionToPage(reply, region).hits.map((h) => ({ region, hit: h }));
      }),
    );
    const now = new Date();
    await Promise.all(
      found.flat().map(async ({ region, hit }) => {
        const input = byId.get(hit.place.id);
        const to = input && ownerOf.get(input.id);
        if (!input || !to) return;
        const place = completePlace(input, now);
        const location: LngLat = hit.place.location.coordinates;
        await this.leaf(region, {
          service: "place.delete",
          id: input.id,
          movedTo: { region: to, place },
        });
        moved.set(input.id, { from: { from: region, location }, place });
      }),
    );
    return moved;
  }

  /** The places with these ids, wherever they are (every region asked once, in parallel). */
  async locate(ids: readonly string[]): Promise<RegionPage["hits"]> {
    const pages = await Promise.all(
      this.map
        .names()
        .map(async (region) =>
          featureCollectionToPage(
            await this.leaf(region, { service: "place.get", ids: [...ids] }),
            region,
          ),
        ),
    );
    const byId = new Map(pages.flatMap((p) => p.hits).map((h) => [h.place.id, h]));
    return ids.flatMap((id) => {
      const h = byId.get(id);
      return h ? [h] : [];
    });
  }

  /** Ids carry no region, so a get asks every region (in parallel) and returns the one that has it. */
  async get(id: string): Promise<unknown> {
    const found = await Promise.all(
      this.map.names().map(async (region) => {
        try {
          return featureToHit(await this.leaf(region, { service: "place.get", id }), region);
        } catch (err) {
          if (err instanceof GeomeshError && err.code === "NOT_FOUND") return undefined;
          throw err;
        }
      }),
    );
    const hit = found.find((h) => h !== undefined);
    if (!hit) throw new GeomeshError("NOT_FOUND", `no place with id ${JSON.stringify(id)}`);
    return placeToFeature(hit.place, hit.region);
  }

  async delete(id: string): Promise<unknown> {
    const replies = await Promise.all(
      this.map
        .names()
        .map(
          async (region) =>
            [region, await this.leaf(region, { service: "place.delete", id })] as const,
        ),
    );
    const hit = replies.find(([, r]) => (r as { deleted?: unknown }).deleted === true);
    if (!hit) throw new GeomeshError("NOT_FOUND", `no place with id ${JSON.stringify(id)}`);
    return { id, deleted: true, region: hit[0] };
  }

  private async byId(
    regions: readonly string[],
    request: ServiceRequest,
    limit: number,
  ): Promise<RegionPage> {
    const pages = await Promise.all(
      regions.map(async (r) => featureCollectionToPage(await this.leaf(r, request), r)),
    );
    return mergeIdPages(pages, limit) as RegionPage;
  }
}
