import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RegionStatus } from "./cluster-view.js";

/** The live hub's figures, read at scrape. */
export interface LiveStats {
  readonly sockets: number;
  readonly subscriptions: number;
  readonly events: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly gaps: number;
}

/** Broker counters exported as Prometheus counters: metric suffix → `BrokerCounters` field. */
const BROKER_COUNTERS = {
  requests_total: ["requests", "requests the broker took on its frontend"],
  replies_total: ["replies", "replies the broker delivered"],
  forwarded_total: ["forwarded", "requests sent to the owning region's broker"],
  overflow_out_total: ["overflowOut", "requests overflowed to a peer broker's workers"],
  overflow_in_total: ["overflowIn", "overflow requests taken from peer brokers"],
  queue_full_total: ["queueFull", "requests refused because a service queue was full"],
  deadline_expired_total: ["deadlineExpired", "requests answered 504 at their deadline"],
  worker_lost_total: ["workerLost", "requests failed because their worker died"],
  redispatched_total: ["redispatched", "idempotent requests re-run after a worker died"],
  peer_lost_total: ["peerLost", "requests failed because their peer broker died"],
} as const;

const BROKER_GAUGES = {
  up: ["1 when the region's broker answers its status service", (s) => (s.reachable ? 1 : 0)],
  workers: ["workers registered with the broker", (s) => s.workers],
  free_capacity: ["free worker slots (credit) at the broker", (s) => s.freeCapacity],
  queue_depth: ["requests waiting in the broker's service queues", (s) => s.queued],
  pending_requests: ["requests the broker holds (queued or running)", (s) => s.pending],
  peers_alive: [
    "peer brokers this broker currently sees alive",
    (s) => s.peers?.filter((p) => p.alive).length,
  ],
} as const satisfies Record<string, readonly [string, (s: RegionStatus) => number | undefined]>;

/**
 * The gateway's Prometheus metrics, on a registry of its own: HTTP request latency by route,
 * per-region sub-request counts and latency (what the gateway sent to each region), and the
 * brokers' queue depths, capacity and overflow counters, read from `broker.status` at scrape.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly http: Histogram<"method" | "route" | "status_code">;
  private readonly regionRequests: Counter<"region" | "service" | "outcome">;
  private readonly regionSeconds: Histogram<"region" | "service">;

  constructor(
    brokers: () => Promise<Readonly<Record<string, RegionStatus>>>,
    options: { defaultMetrics?: boolean; live?: () => LiveStats } = {},
  ) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: "geomesh_gateway_" });
    this.http = new Histogram({
      name: "geomesh_http_request_duration_seconds",
      help: "HTTP request latency by method, route and status",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.regionRequests = new Counter({
      name: "geomesh_region_requests_total",
      help: "leaf requests the gateway sent to each region, by service and outcome (ok or an error code)",
      labelNames: ["region", "service", "outcome"],
      registers,
    });
    this.regionSeconds = new Histogram({
      name: "geomesh_region_request_duration_seconds",
      help: "latency of the gateway's leaf requests per region",
      labelNames: ["region", "service"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    if (options.live) this.registerLive(options.live, registers);
    // One snapshot per scrape: every broker metric's collect() awaits the same promise.
    let snapshot: Promise<Readonly<Record<string, RegionStatus>>> | undefined;
    const current = () => {
      snapshot ??= brokers().finally(() => setTimeout(() => (snapshot = undefined), 50).unref());
      return snapshot;
    };
    for (const [suffix, [help, read]] of Object.entries(BROKER_GAUGES)) {
      new Gauge({
        name: `geomesh_broker_${suffix}`,
        help,
        labelNames: ["region"],
        registers,
        async collect() {
          this.reset();
          for (const [region, status] of Object.entries(await current())) {
            const v = read(status);
            if (v !== undefined) this.set({ region }, v);
          }
        },
      });
    }
    for (const [suffix, [field, help]] of Object.entries(BROKER_COUNTERS)) {
      new Counter({
        name: `geomesh_broker_${suffix}`,
        help: `${help} (the broker's own counter, since it started)`,
        labelNames: ["region"],
        registers,
        async collect() {
          this.reset();
          for (const [region, status] of Object.entries(await current())) {
            const v = status.counters?.[field];
            if (typeof v === "number") this.inc({ region }, v);
          }
        },
      });
    }
  }

  private registerLive(live: () => LiveStats, registers: Registry[]): void {
    const gauge = (name: string, help: string, read: (l: LiveStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(live()));
        },
      });
    const counter = (name: string, help: string, read: (l: LiveStats) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(live()));
        },
      });
    gauge("geomesh_live_sockets", "open WebSocket sessions on /v1/live", (l) => l.sockets);
    gauge("geomesh_live_subscriptions", "live subscriptions held", (l) => l.subscriptions);
    counter("geomesh_live_events_total", "place events received from the brokers", (l) => l.events);
    counter(
      "geomesh_live_delivered_total",
      "event messages sent to subscriptions",
      (l) => l.delivered,
    );
    counter(
      "geomesh_live_dropped_total",
      "messages dropped for slow sockets (oldest first)",
      (l) => l.dropped,
    );
    counter("geomesh_live_gaps_total", "region seq gaps seen on the event feeds", (l) => l.gaps);
  }

  /** Records one leaf request to `region`; `outcome` is "ok" or the error code. */
  observeLeaf(region: string, service: string, outcome: string, seconds: number): void {
    this.regionRequests.inc({ region, service, outcome });
    this.regionSeconds.observe({ region, service }, seconds);
  }
}
