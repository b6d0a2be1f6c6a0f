import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ClusterConfig } from "@geomesh/config";
import { GeomeshClient } from "@geomesh/client";
import { type RegionMap, type ServiceRequest, buildRegionMap, serviceBodyOf } from "@geomesh/geo";
import type { Logger } from "@geomesh/logger";
import {
  type CurveOptions,
  DEFAULT_HEARTBEAT,
  type HeartbeatOptions,
  type SocketLimits,
  Worker,
  type WorkerRequest,
} from "@geomesh/protocol";
import { type GeoStore, type PlaceChange, createStore } from "@geomesh/store";
import "@geomesh/store-embedded";
import "@geomesh/store-mongo";
import { EventPublisher, type EventPublisherCounters } from "./event-publisher.js";
import { buildServices } from "./services/index.js";

export interface WorkerServiceOptions {
  /** Region whose broker this worker serves (for logs; the worker itself is region-agnostic). */
  readonly region: string;
  /** Broker backend endpoint. */
  readonly broker: string;
  readonly concurrency: number;
  readonly testServices: boolean;
  /** Cluster config: the region map and each region's store. Without it only sys.* is served. */
  readonly config?: ClusterConfig;
  /** Serve only `region`, from this store URI (instead of every region's store from the config). */
  readonly store?: string | undefined;
  /**
   * Frontend of this worker's broker, for the leaves of regions whose store is not here and for
   * place events (default: the region's frontend from the config).
   */
  readonly frontend?: string | undefined;
  /** Coordinating requests run at once, when they send sub-requests (default: `concurrency`). */
  readonly coordinators?: number | undefined;
  readonly heartbeat?: Partial<HeartbeatOptions>;
  readonly limits?: SocketLimits;
  readonly curve?: CurveOptions;
  readonly logger: Logger;
  /**
   * Fault injection for tests (`GEOMESH_FAULT_EXIT_AFTER_COMMIT`): the process SIGKILLs itself
   * right after its Nth committed change, before publishing it.
   */
  readonly faultExitAfterCommit?: number | undefined;
}

/** Composition root of one worker process: stores → services → protocol worker. */
export class WorkerService {
  private worker: Worker | undefined;
  /** Second connection with its own credit for coordinating requests (single-store workers). */
  private coordinator: Worker | undefined;
  private remote: GeomeshClient | undefined;
  private events: EventPublisher | undefined;
  private stores = new Map<string, GeoStore>();
  private started: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(readonly options: WorkerServiceOptions) {}

  /** The protocol worker of leaf and sys services (after `start()`). */
  get protocolWorker(): Worker | undefined {
    return this.worker;
  }

  /** The protocol worker of coordinating requests, when this worker has one. */
  get coordinatorWorker(): Worker | undefined {
    return this.coordinator;
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    const { options } = this;
    const log = options.logger;
    let map: RegionMap | undefined;
    if (options.config) {
      map = buildRegionMap(
        options.config.regions.map((r) => ({ name: r.name, polygon: r.polygon })),
      );
      const wanted = options.store
        ? [
            {
              name:
                map.names().find((n) => n.toLowerCase() === options.region.toLowerCase()) ??
                options.region,
              store: options.store,
            },
          ]
        : options.config.regions.map((r) => ({ name: r.name, store: r.store }));
      for (const { name, store: uri } of wanted) {
        if (uri.startsWith("sqlite:"))
          mkdirSync(dirname(uri.slice("sqlite:".length)), { recursive: true });
        const store = createStore(uri, { region: name, logger: log });
        await store.init();
        this.stores.set(name, store);
      }
    }
    // Committed changes go to this worker's broker (its region's frontend), which carries them to
    // the owning region's broker for publishing; so do leaves of regions whose store is not here.
    const frontend =
      options.frontend ??
      options.config?.regions.find((r) => r.name.toLowerCase() === options.region.toLowerCase())
        ?.endpoints.frontend;
    if (map && frontend)
      this.events = new EventPublisher({
        endpoint: frontend,
        logger: log,
        ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
        ...(options.curve ? { curve: options.curve } : {}),
      });
    const events = this.events;
    if (map && frontend && map.names().some((r) => !this.stores.has(r)))
      this.remote = new GeomeshClient({
        endpoint: frontend,
        heartbeat: options.heartbeat ?? {},
        ...(options.curve ? { curve: options.curve } : {}),
      });
    const remote = this.remote;
    const services = buildServices({
      testServices: options.testServices,
      ...(map
        ? {
            geo: {
              stores: this.stores,
              map,
              ...(events ? { onChange: this.onChange(events) } : {}),
              ...(remote
                ? {
                    remote: (region: string, request: ServiceRequest, parent: WorkerRequest) =>
                      remote.request(`${request.service}@${region}`, serviceBodyOf(request), {
                        // Leave the coordinator time to merge and answer before its own deadline.
                        timeoutMs: Math.max(1, Math.floor((parent.deadline - Date.now()) * 0.9)),
                        signal: parent.signal,
                        traceId: parent.traceId,
                      }),
                  }
                : {}),
            },
          }
        : {}),
    });
    const common = {
      endpoint: options.broker,
      logger: log,
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.curve ? { curve: options.curve } : {}),
    };
    this.worker = new Worker({
      ...common,
      services: services.leaf,
      concurrency: options.concurrency,
    });
    if (services.coordinated.size > 0)
      this.coordinator = new Worker({
        ...common,
        logger: log.child({ slots: "coordinator" }),
        services: services.coordinated,
        concurrency: options.coordinators ?? options.concurrency,
      });
    log.info(
      {
        region: options.region,
        broker: options.broker,
        services: services.leaf.size + services.coordinated.size,
        stores: [...this.stores.keys()],
        concurrency: options.concurrency,
        ...(this.coordinator
          ? { coordinators: options.coordinators ?? options.concurrency, frontend }
          : {}),
      },
      "worker configured",
    );
    this.worker.start();
    this.coordinator?.start();
    if (events) {
      // The outbox sweep: at start, then every heartbeat interval.
      this.sweep(events);
      const every = options.heartbeat?.intervalMs ?? DEFAULT_HEARTBEAT.intervalMs;
      this.sweepTimer = setInterval(() => this.sweep(events), every);
      this.sweepTimer.unref();
    }
  }

  /** Each held region's outbox against its broker (one sweep at a time). */
  private sweep(events: EventPublisher): void {
    if (this.sweeping) return;
    this.sweeping = Promise.all(
      [...this.stores].map(([region, store]) => events.sweep(region, store)),
    ).then(() => {
      this.sweeping = undefined;
    });
  }

  private onChange(events: EventPublisher): (region: string, change: PlaceChange) => void {
    const exitAfter = this.options.faultExitAfterCommit;
    let committed = 0;
    return (region, change) => {
      committed += 1;
      if (exitAfter !== undefined && committed >= exitAfter) {
        this.options.logger.warn(
          { region, seq: change.seq },
          "fault injection: exiting between commit and publish",
        );
        process.kill(process.pid, "SIGKILL");
      }
      events.publish(region, change);
    };
  }

  /** The outbox sweep's and publisher's counters (for tests and status). */
  get eventCounters(): Readonly<EventPublisherCounters> | undefined {
    return this.events?.counters;
  }

  /** Drains the protocol worker, then closes the stores (reverse order of start). */
  async stop(drainMs?: number): Promise<void> {
    await this.started?.catch(() => undefined);
    clearInterval(this.sweepTimer);
    await this.sweeping;
    // Coordinating requests first: they may still wait on this worker's own leaves.
    await this.coordinator?.stop(drainMs);
    await this.worker?.stop(drainMs);
    await this.remote?.close();
    await this.events?.stop();
    for (const store of [...this.stores.values()].reverse()) await store.close();
    this.stores.clear();
  }
}
