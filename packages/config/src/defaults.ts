import { availableParallelism } from "node:os";

/** The default deployment: the US in five Census-based regions (DESIGN §1). */
export const DEFAULT_REGION_STATES = {
  NE: ["CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"],
  South: [
    "DE",
    "DC",
    "FL",
    "GA",
    "MD",
    "NC",
    "SC",
    "VA",
    "WV",
    "AL",
    "KY",
    "MS",
    "TN",
    "AR",
    "LA",
    "PR",
    "VI",
  ],
  MW: ["IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"],
  SW: ["TX", "OK", "NM", "AZ", "CO", "UT", "NV"],
  CA: ["CA", "OR", "WA", "ID", "MT", "WY", "AK", "HI", "GU", "AS", "MP"],
} as const satisfies Record<string, readonly string[]>;

/** First loopback port of the default cluster; region i uses BASE + 10·i + 0..4. */
export const DEFAULT_BASE_PORT = 7100;
export const DEFAULT_GATEWAY_PORT = 8080;

/**
 * Workers per region of the built-in cluster: 2, or 1 on a machine with fewer than 4 cores — there
 * more worker processes than cores only add wake-ups and context switches (on 2 cores, 10 workers
 * cost ~1.6× the CPU per request of 5 and answered ~0.65× the requests; docs/benchmarks.md). With
 * one worker a region stays served while it restarts: every worker of the built-in cluster holds
 * every region's store, so peers take the region's leaves by overflow.
 */
export function defaultWorkersPerRegion(cores: number = availableParallelism()): number {
  return cores < 4 ? 1 : 2;
}
