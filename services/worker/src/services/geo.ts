import { type ChangeMove, Coordinator, type LeafCaller, executeLeaf } from "@geomesh/coordinator";
import { GeomeshError } from "@geomesh/errors";
import { GEO_SERVICES, type RegionMap, parseServiceBody } from "@geomesh/geo";
import type { Handler, WorkerRequest } from "@geomesh/protocol";
import type { GeoStore, PlaceChange } from "@geomesh/store";

/** Parses a JSON request body; a body that is not JSON is a 400. */
export function jsonBody(req: WorkerRequest): unknown {
  const text =
    req.body.length === 1
      ? req.body[0]!.toString("utf8")
      : Buffer.concat(req.body).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new GeomeshError("BAD_REQUEST", "body is not valid JSON");
  }
}

/** Wraps a JSON-in/JSON-out function as a protocol handler. */
export function jsonHandler(fn: (body: unknown, req: WorkerRequest) => Promise<unknown>): Handler {
  return async (req) => JSON.stringify(await fn(jsonBody(req), req));
}

/** The leaf service name for a region: `geo.near@ne` (service names are case-insensitive). */
export function leafService(service: string, region: string): string {
  return `${service}@${region}`.toLowerCase();
}

export interface GeoServiceOptions {
  /** Stores this worker can reach, by region name. */
  readonly stores: ReadonlyMap<string, GeoStore>;
  readonly map: RegionMap;
  /** Hears every committed change (the worker publishes them as place events). */
  readonly onChange?: (region: string, change: PlaceChange, move?: ChangeMove) => void;
}

/**
 * The geo services of a worker:
 * - leaf services `<service>@<region>` for every region whose store it holds, run against that
 *   store;
 * - unqualified services (`geo.near`, …) for stock 7/MDP clients when it holds every region's
 *   store: a coordinator splits the request into regions and merges, calling the stores
 *   in-process — so coordinating never holds a worker slot while waiting for another.
 */
export function buildGeoServices({
  stores,
  map,
  onChange,
}: GeoServiceOptions): Map<string, Handler> {
  const services = new Map<string, Handler>();
  for (const [region, store] of stores) {
    for (const service of GEO_SERVICES) {
      services.set(
        leafService(service, region),
        jsonHandler((body) =>
          executeLeaf(store, region, map, parseServiceBody(service, body), onChange),
        ),
      );
    }
  }
  const local: LeafCaller = (region, request) => {
    const store = stores.get(region);
    if (!store)
      return Promise.reject(
        new GeomeshError("STORE_UNAVAILABLE", `this worker has no store for region ${region}`),
      );
    return executeLeaf(store, region, map, request, onChange);
  };
  if (map.names().every((r) => stores.has(r))) {
    const coordinator = new Coordinator(map, local);
    for (const service of GEO_SERVICES)
      services.set(
        service,
        jsonHandler((body) => coordinator.execute(service, body)),
      );
  }
  return services;
}
