export interface HeartbeatOptions {
  /** Heartbeat interval in ms (default 1000). A broker dictates it to its workers. */
  readonly intervalMs: number;
  /** Missed intervals before a peer counts as dead (default 3). */
  readonly liveness: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 1000, liveness: 3 };

/** Services whose requests are not safe to run twice unless the caller says so. */
export const DEFAULT_NON_IDEMPOTENT_SERVICES: readonly string[] = ["place.upsert", "place.delete"];

/** Default idempotency of a service: reads are, writes are not. */
export function isIdempotentService(service: string): boolean {
  return !DEFAULT_NON_IDEMPOTENT_SERVICES.includes(service.toLowerCase());
}
