import type { Handler } from "@geomesh/protocol";
import { type GeoServiceOptions, buildGeoServices } from "./geo.js";
import { sysEcho } from "./sys-echo.js";
import { sysSleep } from "./sys-sleep.js";

export interface ServiceSetOptions {
  /** Adds `sys.sleep` (benchmarks and fault tests only). */
  readonly testServices?: boolean;
  /** Adds the geo services over these stores. */
  readonly geo?: GeoServiceOptions;
}

/**
 * The services a worker offers, by slot class: `leaf` (sys.*, `service@REGION`) and
 * `coordinated` (unqualified geo services). When coordinating needs no sub-requests (every
 * region's store is here) both classes share one connection and `coordinated` is empty.
 * Adding a service is a new file exporting a `Handler` and one line here.
 */
export function buildServices(options: ServiceSetOptions = {}): {
  leaf: Map<string, Handler>;
  coordinated: Map<string, Handler>;
} {
  const leaf = new Map<string, Handler>([["sys.echo", sysEcho]]);
  if (options.testServices) leaf.set("sys.sleep", sysSleep);
  if (!options.geo) return { leaf, coordinated: new Map() };
  // The sys services also answer under the name of every region whose store is here, so
  // `sys.echo@SW` travels to a broker whose workers serve SW and proves the route.
  for (const region of options.geo.stores.keys()) {
    for (const [name, handler] of [...leaf])
      if (!name.includes("@")) leaf.set(`${name}@${region.toLowerCase()}`, handler);
  }
  const geo = buildGeoServices(options.geo);
  for (const [name, handler] of geo.leaves) leaf.set(name, handler);
  if (!geo.needsRemote) {
    for (const [name, handler] of geo.coordinated) leaf.set(name, handler);
    return { leaf, coordinated: new Map() };
  }
  return { leaf, coordinated: geo.coordinated };
}
