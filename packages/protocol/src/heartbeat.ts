export interface HeartbeatOptions {
  /** Heartbeat interval in ms (default 1000). A broker dictates it to its workers. */
  readonly intervalMs: number;
  /** Missed intervals before a peer counts as dead (default 3). */
  readonly liveness: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 1000, liveness: 3 };

/** Services whose requests are not safe to run twice unless the caller says so. */
export const DEFAULT_NON_IDEMPOTENT_SERVICES: readonly string[] = ["place.upsert", "place.delete"];

/** A service name without its region qualifier: `place.upsert@ne` → `place.upsert`. */
export function baseService(service: string): string {
  const at = service.lastIndexOf("@");
  return (at >= 0 ? service.slice(0, at) : service).toLowerCase();
}

/** Default idempotency of a service: reads are, writes are not (a region's leaf like its base). */
export function isIdempotentService(service: string): boolean {
  return !DEFAULT_NON_IDEMPOTENT_SERVICES.includes(baseService(service));
}
