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
 * The services a worker offers. Adding one is a new file exporting a `Handler` and one line
 * here.
 */
export function buildServices(options: ServiceSetOptions = {}): Map<string, Handler> {
  const services = new Map<string, Handler>([["sys.echo", sysEcho]]);
  if (options.testServices) services.set("sys.sleep", sysSleep);
  if (options.geo) {
    // Workers are region-agnostic: the sys services also answer under every region's name, so
    // `sys.echo@SW` travels to SW's broker and proves the route.
    for (const region of options.geo.map.names()) {
      for (const [name, handler] of [...services])
        if (!name.includes("@")) services.set(`${name}@${region.toLowerCase()}`, handler);
    }
    for (const [name, handler] of buildGeoServices(options.geo)) services.set(name, handler);
  }
  return services;
}
