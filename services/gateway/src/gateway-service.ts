import { GeomeshClient, isGeomeshError } from "@geomesh/client";
import type { ClusterConfig } from "@geomesh/config";
import { CHANGES_SINCE_SERVICE, Coordinator, type LeafCaller } from "@geomesh/coordinator";
import { buildRegionMap, serviceBodyOf } from "@geomesh/geo";
import type { Logger } from "@geomesh/logger";
import type { CurveOptions } from "@geomesh/protocol";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import type { ClusterView, RegionStatus } from "./cluster-view.js";
import { GatewayMetrics } from "./gateway-metrics.js";
import { EventFeed } from "./live/event-feed.js";
import { LiveHub } from "./live/live-hub.js";

export interface GatewayServiceOptions {
  readonly config: ClusterConfig;
  readonly host: string;
  readonly port: number;
  readonly curve?: CurveOptions;
  readonly logger: Logger;
  /** Per sub-request timeout (ms). */
  readonly timeoutMs?: number;
}

/** Errors that mean "this broker did not answer" — worth asking another broker. */
const UNREACHABLE = new Set(["BROKER_UNAVAILABLE", "TIMEOUT"]);

interface BrokerStatusReply {
  workers?: unknown[];
  freeCapacity?: number;
  pending?: number;
  services?: { queued?: number }[];
  peers?: { name: string; alive: boolean; capacity: number }[];
  counters?: Record<string, number>;
}

/**
 * Composition root of the gateway: one client per region broker, a coordinator whose leaf
 * requests (`geo.near@ne`, …) go to the owning region's broker — or, when that broker is down,
 * through the live ones (every broker is an entry point and any worker can serve any region) —
 * and the HTTP app. A probe of every broker's status each heartbeat interval keeps the view of
 * which brokers are up; it also feeds `/v1/regions`, `/readyz` and `/metrics`.
 */
export class GatewayService {
  private app: FastifyInstance | undefined;
  private readonly clients = new Map<string, GeomeshClient>();
  private started: Promise<void> | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private status: Record<string, RegionStatus> = {};
  private probing: Promise<void> | undefined;
  private feed: EventFeed | undefined;
  private hub: LiveHub | undefined;
  address = "";

  constructor(readonly options: GatewayServiceOptions) {}

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private client(region: string): GeomeshClient {
    let c = this.clients.get(region);
    if (!c) {
      const r = this.options.config.regions.find((x) => x.name === region)!;
      c = new GeomeshClient({
        endpoint: r.endpoints.frontend,
        heartbeat: this.options.config.heartbeat,
        timeoutMs: this.options.timeoutMs ?? 10_000,
        ...(this.options.curve ? { curve: this.options.curve } : {}),
      });
      this.clients.set(region, c);
    }
    return c;
  }

  /** Asks every broker for its status (once at a time) and records who answered. */
  private probe(): Promise<void> {
    this.probing ??= (async () => {
      const next: Record<string, RegionStatus> = {};
      await Promise.all(
        this.options.config.regions.map(async ({ name }) => {
          try {
            const s = await this.client(name).request<BrokerStatusReply>(
              "broker.status",
              {},
              { timeoutMs: this.options.config.heartbeat.intervalMs },
            );
            next[name] = {
              reachable: true,
              workers: s.workers?.length ?? 0,
              ...(s.freeCapacity === undefined ? {} : { freeCapacity: s.freeCapacity }),
              ...(s.pending === undefined ? {} : { pending: s.pending }),
              queued: (s.services ?? []).reduce((n, x) => n + (x.queued ?? 0), 0),
              ...(s.peers ? { peers: s.peers } : {}),
              ...(s.counters ? { counters: s.counters } : {}),
            };
          } catch {
            next[name] = { reachable: false };
          }
        }),
      );
      for (const [name, s] of Object.entries(next)) {
        if (this.status[name]?.reachable !== s.reachable && this.status[name] !== undefined)
          this.options.logger.warn(
            { region: name, reachable: s.reachable },
            "broker reachability changed",
          );
      }
      this.status = next;
    })().finally(() => (this.probing = undefined));
    return this.probing;
  }

  /** The owner first when it is not known to be down, then the brokers that are up, then the rest. */
  private entryOrder(region: string, names: readonly string[]): string[] {
    const up = (n: string) => this.status[n]?.reachable !== false;
    const others = names.filter((n) => n !== region);
    return [
      ...(up(region) ? [region] : []),
      ...others.filter(up),
      ...(up(region) ? [] : [region]),
      ...others.filter((n) => !up(n)),
    ];
  }

  /**
   * One request for a region's leaf: to its own broker first, then through the others (each
   * forwards to the owner, or serves the region while it is down). `observe` hears the outcome.
   */
  private async callRegion(
    region: string,
    names: readonly string[],
    service: string,
    body: unknown,
    observe: (outcome: string) => void = () => undefined,
  ): Promise<unknown> {
    const { logger } = this.options;
    let lastError: unknown;
    for (const entry of this.entryOrder(region, names)) {
      try {
        const reply = await this.client(entry).request(service, body);
        observe("ok");
        return reply;
      } catch (err) {
        if (!isGeomeshError(err) || !UNREACHABLE.has(err.code)) {
          observe(isGeomeshError(err) ? err.code : "INTERNAL");
          throw err;
        }
        lastError = err;
        this.status = { ...this.status, [entry]: { reachable: false } };
        logger.warn({ region, entry, code: err.code }, "broker did not answer; trying another");
      }
    }
    observe("UNREACHABLE");
    throw lastError;
  }

  private async doStart(): Promise<void> {
    const { config, logger } = this.options;
    const map = buildRegionMap(config.regions.map((r) => ({ name: r.name, polygon: r.polygon })));
    const names = map.names();
    const view: ClusterView = {
      regionStatus: () => Promise.resolve(this.status),
      ready: () => {
        const reachable = names.filter((n) => this.status[n]?.reachable === true);
        return Promise.resolve({
          ready: reachable.length > 0,
          detail: {
            reachable,
            unreachable: names.filter((n) => !reachable.includes(n)),
            degraded: reachable.length < names.length,
          },
        });
      },
    };
    const metrics = new GatewayMetrics(() => view.regionStatus(), {
      live: () => {
        const h = this.hub;
        return {
          sockets: h?.sessionCount ?? 0,
          subscriptions: h?.subscriptionCount ?? 0,
          ...(h?.counters ?? { events: 0, delivered: 0, dropped: 0, gaps: 0 }),
        };
      },
    });
    const leaf: LeafCaller = async (region, request) => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      return this.callRegion(
        region,
        names,
        `${request.service}@${region}`,
        serviceBodyOf(request),
        (outcome) => metrics.observeLeaf(region, request.service, outcome, seconds()),
      );
    };
    await this.probe();
    this.probeTimer = setInterval(() => void this.probe(), config.heartbeat.intervalMs);
    this.probeTimer.unref();
    // Live feeds: one SUB on every region broker's events socket, following only the regions
    // that some WebSocket subscription touches.
    const feed = new EventFeed(
      {
        regions: new Map(config.regions.map((r) => [r.name, r.endpoints.events])),
        logger: logger.child({ component: "event-feed" }),
        ...(this.options.curve ? { curve: this.options.curve } : {}),
        // A gap is refilled from the owning region's outbox before later events are delivered.
        refill: (region, since, limit) =>
          this.callRegion(region, names, `${CHANGES_SINCE_SERVICE}@${region}`, { since, limit }),
      },
      (message) => this.hub?.onFeed(message),
    );
    const hub = new LiveHub(map, feed, logger.child({ component: "live" }));
    feed.start();
    this.feed = feed;
    this.hub = hub;
    this.app = await buildApp({
      coordinator: new Coordinator(map, leaf),
      cluster: view,
      logger,
      metrics,
      rateLimit: config.gateway.rateLimit,
      live: hub,
    });
    this.address = await this.app.listen({ host: this.options.host, port: this.options.port });
    logger.info({ address: this.address }, "gateway listening");
  }

  async stop(): Promise<void> {
    await this.started?.catch(() => undefined);
    clearInterval(this.probeTimer);
    this.hub?.stop();
    await this.app?.close();
    await this.feed?.stop();
    await this.probing?.catch(() => undefined);
    for (const c of this.clients.values()) await c.close();
  }
}
