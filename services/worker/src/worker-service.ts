import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ClusterConfig } from "@geomesh/config";
import { type RegionMap, buildRegionMap } from "@geomesh/geo";
import type { Logger } from "@geomesh/logger";
import {
  type CurveOptions,
  type HeartbeatOptions,
  type SocketLimits,
  Worker,
} from "@geomesh/protocol";
import { type GeoStore, createStore } from "@geomesh/store";
import "@geomesh/store-embedded";
import "@geomesh/store-mongo";
import { EventPublisher } from "./event-publisher.js";
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
  readonly heartbeat?: Partial<HeartbeatOptions>;
  readonly limits?: SocketLimits;
  readonly curve?: CurveOptions;
  readonly logger: Logger;
}

/** Composition root of one worker process: stores → services → protocol worker. */
export class WorkerService {
  private worker: Worker | undefined;
  private events: EventPublisher | undefined;
  private stores = new Map<string, GeoStore>();
  private started: Promise<void> | undefined;

  constructor(readonly options: WorkerServiceOptions) {}

  /** The protocol worker (after `start()`). */
  get protocolWorker(): Worker | undefined {
    return this.worker;
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
    // the owning region's broker for publishing.
    const frontend = options.config?.regions.find(
      (r) => r.name.toLowerCase() === options.region.toLowerCase(),
    )?.endpoints.frontend;
    if (map && frontend)
      this.events = new EventPublisher({
        endpoint: frontend,
        logger: log,
        ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
        ...(options.curve ? { curve: options.curve } : {}),
      });
    const events = this.events;
    const services = buildServices({
      testServices: options.testServices,
      ...(map
        ? {
            geo: {
              stores: this.stores,
              map,
              ...(events ? { onChange: events.publish.bind(events) } : {}),
            },
          }
        : {}),
    });
    this.worker = new Worker({
      endpoint: options.broker,
      services,
      concurrency: options.concurrency,
      logger: log,
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.curve ? { curve: options.curve } : {}),
    });
    log.info(
      {
        region: options.region,
        broker: options.broker,
        services: services.size,
        stores: [...this.stores.keys()],
        concurrency: options.concurrency,
      },
      "worker configured",
    );
    this.worker.start();
  }

  /** Drains the protocol worker, then closes the stores (reverse order of start). */
  async stop(drainMs?: number): Promise<void> {
    await this.started?.catch(() => undefined);
    await this.worker?.stop(drainMs);
    await this.events?.stop();
    for (const store of [...this.stores.values()].reverse()) await store.close();
    this.stores.clear();
  }
}
