import type { Logger } from "@geomesh/logger";
import {
  type CurveOptions,
  type HeartbeatOptions,
  type SocketLimits,
  Worker,
} from "@geomesh/protocol";
import { buildServices } from "./services/index.js";

export interface WorkerServiceOptions {
  /** Region whose broker this worker serves (for logs; the worker itself is region-agnostic). */
  readonly region: string;
  /** Broker backend endpoint. */
  readonly broker: string;
  readonly concurrency: number;
  readonly testServices: boolean;
  readonly heartbeat?: Partial<HeartbeatOptions>;
  readonly limits?: SocketLimits;
  readonly curve?: CurveOptions;
  readonly logger: Logger;
}

/** Composition root of one worker process: services + protocol worker. */
export class WorkerService {
  readonly worker: Worker;

  constructor(readonly options: WorkerServiceOptions) {
    const services = buildServices({ testServices: options.testServices });
    this.worker = new Worker({
      endpoint: options.broker,
      services,
      concurrency: options.concurrency,
      logger: options.logger.child({ region: options.region }),
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.curve ? { curve: options.curve } : {}),
    });
    options.logger.info(
      {
        region: options.region,
        broker: options.broker,
        services: [...services.keys()],
        concurrency: options.concurrency,
      },
      "worker configured",
    );
  }

  start(): Promise<void> {
    this.worker.start();
    return Promise.resolve();
  }

  stop(drainMs?: number): Promise<void> {
    return this.worker.stop(drainMs);
  }
}
