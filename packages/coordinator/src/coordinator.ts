import { GeomeshError } from "@geomesh/errors";
import {
  type AggregateQuery,
  type CountQuery,
  type GridCounts,
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
  readLeafPage,
  readGrid,
} from "./features.js";

/**
 * Leaf errors that mean "this region cannot be reached now" rather than "the request is wrong":
 * no broker or worker for it, a dead peer, a deadline. Reads then answer from the other regions
 * (`partial: true`, `unavailable: [...]`); writes and lookups by id answer 503.
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  "REGION_UNAVAILABLE",
  "BROKER_UNAVAILABLE",
  "TIMEOUT",
  "DEADLINE_EXCEEDED",
  "PEER_LOST",
  "SHUTTING_DOWN",
  "STORE_UNAVAILABLE",
  "STORE_TIMEOUT",
  "SERVICE_NOT_FOUND",
  "WORKER_LOST",
]);

/** Whether a leaf's error means its region is unavailable (see `UNAVAILABLE_CODES`). */
export function isRegionUnavailable(err: unknown): boolean {
  return err instanceof GeomeshError && UNAVAILABLE_CODES.has(err.code);
}

/** The 503 for a request that needs regions nobody can reach. */
export function regionUnavailable(regions: Iterable<string>, what: string): GeomeshError {
  const unavailable = [...new Set(regions)];
  return new GeomeshError(
    "REGION_UNAVAILABLE",
    `${what} needs region${unavailable.length === 1 ? "" : "s"} ${unavailable.join(", ")}, which did not answer`,
    { data: { unavailable } },
  );
}

/** Marks a reply as partial when some regions did not answer. */
function withUnavailable<T extends object>(
  value: T,
  unavailable: ReadonlySet<string>,
): T & { partial?: true; unavailable?: string[] } {
  return unavailable.size === 0
    ? value
    : { ...value, partial: true, unavailable: [...unavailable] };
}

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
      case "geo.count": {
        const unavailable = new Set<string>();
        return withUnavailable(
          { count: await this.count(request.query, unavailable) },
          unavailable,
        );
      }
      case "geo.aggregate": {
        const unavailable = new Set<string>();
        return withUnavailable(await this.aggregate(request.query, unavailable), unavailable);
      }
      case "place.upsert":
        return { results: await this.upsert(request.places, request.batch) };
      case "place.get": {
        if (!("ids" in request)) return await this.get(request.id);
        const unavailable = new Set<string>();
        const hits = await this.locate(request.ids, unavailable);
        return pageToFeatureCollection({
          hits,
          ...(unavailable.size > 0 ? { unavailable: [...unavailable] } : {}),
        });
      }
      case "place.delete":
        return await this.delete(request.id);
    }
  }

  /**
   * Asks one region for a read; a region that cannot be reached is recorded in `unavailable`
   * and answers nothing (the caller's reply then says it is partial).
   */
  private async read(
    region: string,
    request: ServiceRequest,
    unavailable: Set<string>,
  ): Promise<unknown> {
    try {
      return await this.leaf(region, request);
    } catch (err) {
      if (!isRegionUnavailable(err)) throw err;
      unavailable.add(region);
      return undefined;
    }
  }

  /** kNN across regions: ask the nearest regions, then every region that could still beat the k-th hit. */
  async near(query: NearQuery): Promise<RegionPage> {
    const plan = planNear(query, this.map);
    // Leaves answer compact hits; the merged page is rendered once, by the caller.
    const request: ServiceRequest = { service: "geo.near", query, reply: "hits" };
    const pages = new Map<string, RegionPage>();
    const unavailable = new Set<string>();
    const ask = async (regions: readonly string[]) => {
      const got = await Promise.all(
        regions.map(async (r) => [r, await this.read(r, request, unavailable)] as const),
      );
      for (const [r, reply] of got) if (reply !== undefined) pages.set(r, readLeafPage(reply, r));
    };
    await ask(plan.first);
    let merged = mergeNearPages([...pages.values()], query.limit) as RegionPage;
    const further = plan.further(
      kthDistance(merged, query.limit),
      [...pages.keys(), ...unavailable],
      merged.hits.length === query.limit && merged.next === undefined,
    );
    if (further.length > 0) {
      await ask(further);
      merged = mergeNearPages([...pages.values()], query.limit) as RegionPage;
    }
    return unavailable.size > 0 ? { ...merged, unavailable: [...unavailable] } : merged;
  }

  async within(query: WithinQuery): Promise<RegionPage> {
    return this.byId(
      this.map.regionsForShape(query.shape),
      { service: "geo.within", query, reply: "hits" },
      query.limit,
    );
  }

  async intersects(query: IntersectsQuery): Promise<RegionPage> {
    return this.byId(
      this.map.regionsForShape(query.geometry),
      { service: "geo.intersects", query, reply: "hits" },
      query.limit,
    );
  }

  /** Counts over the regions the selection touches (unreachable ones are added to `unavailable`). */
  async count(query: CountQuery, unavailable = new Set<string>()): Promise<number> {
    const regions = this.map.regionsForSelection(query.selection);
    const counts = await Promise.all(
      regions.map(async (r) => {
        const reply = await this.read(r, { service: "geo.count", query }, unavailable);
        return reply === undefined ? 0 : readCount(reply);
      }),
    );
    return mergeCounts(counts);
  }

  async aggregate(query: AggregateQuery, unavailable = new Set<string>()): Promise<object> {
    const regions = this.map.regionsForBox(query.box);
    const grids = await Promise.all(
      regions.map(async (r) => {
        const reply = await this.read(r, { service: "geo.aggregate", query }, unavailable);
        return reply === undefined ? undefined : readGrid(reply);
      }),
    );
    return (
      mergeGridCounts(grids.filter((g): g is GridCounts => g !== undefined)) ?? {
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
    // Every region must answer: a region that cannot say whether it holds an id could be left
    // with a stale copy once it is back (two regions holding one id).
    const unavailable = new Set<string>();
    const found = await Promise.all(
      this.map.names().map(async (region) => {
        const ids = places.filter((p) => ownerOf.get(p.id) !== region).map((p) => p.id);
        if (ids.length === 0) return [];
        const reply = await this.read(region, { service: "place.get", ids }, unavailable);
        if (reply === undefined) return [];
        return featureCollectionToPage(reply, region).hits.map((h) => ({ region, hit: h }));
      }),
    );
    if (unavailable.size > 0) throw regionUnavailable(unavailable, "a write (finding moved ids)");
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

  /**
   * The places with these ids, wherever they are (every region asked once, in parallel);
   * regions that do not answer are added to `unavailable`.
   */
  async locate(
    ids: readonly string[],
    unavailable = new Set<string>(),
  ): Promise<RegionPage["hits"]> {
    const pages = await Promise.all(
      this.map.names().map(async (region) => {
        const reply = await this.read(region, { service: "place.get", ids: [...ids] }, unavailable);
        return reply === undefined ? { hits: [] } : featureCollectionToPage(reply, region);
      }),
    );
    const byId = new Map(pages.flatMap((p) => p.hits).map((h) => [h.place.id, h]));
    return ids.flatMap((id) => {
      const h = byId.get(id);
      return h ? [h] : [];
    });
  }

  /**
   * Ids carry no region, so a get asks every region (in parallel) and returns the one that has
   * it. Not found while some region did not answer is a 503, not a 404: it may be there.
   */
  async get(id: string): Promise<unknown> {
    const unavailable = new Set<string>();
    const found = await Promise.all(
      this.map.names().map(async (region) => {
        try {
          const reply = await this.read(region, { service: "place.get", id }, unavailable);
          return reply === undefined ? undefined : featureToHit(reply, region);
        } catch (err) {
          if (err instanceof GeomeshError && err.code === "NOT_FOUND") return undefined;
          throw err;
        }
      }),
    );
    const hit = found.find((h) => h !== undefined);
    if (hit) return placeToFeature(hit.place, hit.region);
    if (unavailable.size > 0) throw regionUnavailable(unavailable, `place ${JSON.stringify(id)}`);
    throw new GeomeshError("NOT_FOUND", `no place with id ${JSON.stringify(id)}`);
  }

  /** Deletes the id wherever it is; like `get`, not found with a region unanswered is a 503. */
  async delete(id: string): Promise<unknown> {
    const unavailable = new Set<string>();
    const replies = await Promise.all(
      this.map
        .names()
        .map(
          async (region) =>
            [
              region,
              await this.read(region, { service: "place.delete", id }, unavailable),
            ] as const,
        ),
    );
    const hit = replies.find(([, r]) => (r as { deleted?: unknown } | undefined)?.deleted === true);
    if (hit) return { id, deleted: true, region: hit[0] };
    if (unavailable.size > 0)
      throw regionUnavailable(unavailable, `deleting place ${JSON.stringify(id)}`);
    throw new GeomeshError("NOT_FOUND", `no place with id ${JSON.stringify(id)}`);
  }

  private async byId(
    regions: readonly string[],
    request: ServiceRequest,
    limit: number,
  ): Promise<RegionPage> {
    const unavailable = new Set<string>();
    const replies = await Promise.all(
      regions.map(async (r) => [r, await this.read(r, request, unavailable)] as const),
    );
    const pages = replies.flatMap(([r, reply]) =>
      reply === undefined ? [] : [readLeafPage(reply, r)],
    );
    const merged = mergeIdPages(pages, limit) as RegionPage;
    return unavailable.size > 0 ? { ...merged, unavailable: [...unavailable] } : merged;
  }
}
