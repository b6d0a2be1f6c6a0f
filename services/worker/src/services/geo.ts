import {
  CHANGES_SINCE_SERVICE,
  Coordinator,
  type LeafCaller,
  changesSince,
  executeLeaf,
  parseChangesSinceBody,
} from "@geomesh/coordinator";
import { GeomeshError } from "@geomesh/errors";
import { GEO_SERVICES, type RegionMap, type ServiceRequest, parseServiceBody } from "@geomesh/geo";
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

/**
 * Runs a leaf of a region this worker holds no store for: `service@REGION` through its broker,
 * within the coordinating request's deadline and cancelled with it.
 */
export type RemoteLeafCaller = (
  region: string,
  request: ServiceRequest,
  parent: WorkerRequest,
) => Promise<unknown>;

export interface GeoServiceOptions {
  /** Stores this worker can reach, by region name. */
  readonly stores: ReadonlyMap<string, GeoStore>;
  readonly map: RegionMap;
  /** Hears every committed change (the worker publishes them as place events). */
  readonly onChange?: (region: string, change: PlaceChange) => void;
  /** Leaves of the regions without a store here; required when `stores` lacks some region. */
  readonly remote?: RemoteLeafCaller;
}

/** A worker's geo services, in two slot classes (see `docs/architecture.md`, Coordination). */
export interface GeoServices {
  /**
   * `<service>@<region>` for every region whose store this worker holds: run on that store; and
   * `changes.since@<region>`, its outbox.
   */
  readonly leaves: Map<string, Handler>;
  /**
   * Unqualified `geo.near`, …, `place.delete` for stock 7/MDP clients: a coordinator splits the
   * request into regions, runs the held ones in process and the others through `remote`.
   */
  readonly coordinated: Map<string, Handler>;
  /** True when coordinating sends sub-requests (some region's store is not held here). */
  readonly needsRemote: boolean;
}

/**
 * The geo services of a worker. Leaf handlers never wait on another request, only on their
 * store; coordinating handlers wait on leaves. When coordination sends sub-requests, the worker
 * offers the two classes on separate broker connections with their own credit, so a
 * coordinating request never holds a slot its sub-requests need.
 */
export function buildGeoServices({
  stores,
  map,
  onChange,
  remote,
}: GeoServiceOptions): GeoServices {
  const leaves = new Map<string, Handler>();
  for (const [region, store] of stores) {
    for (const service of GEO_SERVICES) {
      leaves.set(
        leafService(service, region),
        jsonHandler((body) =>
          executeLeaf(store, region, map, parseServiceBody(service, body), onChange),
        ),
      );
    }
    // The region's outbox, for gateways refilling a gap in a live feed.
    leaves.set(
      leafService(CHANGES_SINCE_SERVICE, region),
      jsonHandler((body) => changesSince(store, region, parseChangesSinceBody(body))),
    );
  }
  const needsRemote = !map.names().every((r) => stores.has(r));
  if (needsRemote && !remote)
    throw new Error("a worker without every region's store needs a remote leaf caller");
  const coordinated = new Map<string, Handler>();
  for (const service of GEO_SERVICES)
    coordinated.set(
      service,
      jsonHandler((body, req) => {
        const leaf: LeafCaller = (region, request) => {
          const store = stores.get(region);
          if (store) return executeLeaf(store, region, map, request, onChange);
          return remote!(region, request, req);
        };
        return new Coordinator(map, leaf).execute(service, body);
      }),
    );
  return { leaves, coordinated, needsRemote };
}
