import { type ClusterConfig, findRegion } from "@geomesh/config";
import type { Logger } from "@geomesh/logger";
import { Broker, type CurveOptions } from "@geomesh/protocol";

export interface BrokerServiceOptions {
  readonly config: ClusterConfig;
  readonly region: string;
  /** Overrides of the region's configured endpoints (flags). */
  readonly frontend?: string | undefined;
  readonly backend?: string | undefined;
  readonly curve?: CurveOptions;
  /** CURVE client options for the links this broker opens to its peers. */
  readonly peerCurve?: CurveOptions;
  /** Overflow to idle peers when local workers are busy (default true; benchmarks turn it off). */
  readonly overflow?: boolean;
  readonly logger: Logger;
}

/** Turns a configured endpoint into what this process binds (`tcp://host:port`). */
export function bindAddress(endpoint: string, bindHost?: string): string {
  if (!bindHost) return endpoint;
  const m = /^tcp:\/\/[^:]+:(\d+)$/.exec(endpoint);
  return m ? `tcp://${bindHost}:${m[1]}` : endpoint;
}

/** Composition root of one region broker process. */
export class BrokerService {
  readonly broker: Broker;

  constructor(readonly options: BrokerServiceOptions) {
    const region = findRegion(options.config, options.region);
    const bindHost = process.env.GEOMESH_BIND_HOST;
    this.broker = new Broker({
      name: region.name,
      frontend: bindAddress(options.frontend ?? region.endpoints.frontend, bindHost),
      backend: bindAddress(options.backend ?? region.endpoints.backend, bindHost),
      heartbeat: options.config.heartbeat,
      queuePerService: options.config.limits.queuePerService,
      defaultTimeoutMs: options.config.limits.defaultTimeoutMs,
      unknownServiceMs: options.config.limits.unknownServiceMs,
      limits: {
        maxMessageBytes: options.config.limits.maxMessageBytes,
        highWaterMark: options.config.limits.highWaterMark,
      },
      logger: options.logger,
      ...(options.curve ? { curve: options.curve } : {}),
      ...(options.config.regions.length > 1
        ? {
            peering: {
              region: region.name,
              cloud: bindAddress(region.endpoints.cloud, bindHost),
              state: bindAddress(region.endpoints.state, bindHost),
              events: bindAddress(region.endpoints.events, bindHost),
              peers: options.config.regions
                .filter((r) => r.name !== region.name)
                .map((r) => ({ name: r.name, cloud: r.endpoints.cloud, state: r.endpoints.state })),
              overflow: options.overflow ?? true,
              ...(options.peerCurve ? { curve: options.peerCurve } : {}),
            },
          }
        : {}),
    });
  }

  start(): Promise<void> {
    return this.broker.start();
  }

  stop(drainMs?: number): Promise<void> {
    return this.broker.stop(drainMs);
  }
}
