import { GeomeshClient, isGeomeshError } from "@geomesh/client";
import type { ClusterConfig } from "@geomesh/config";
import { Coordinator, type LeafCaller } from "@geomesh/coordinator";
import { buildRegionMap, serviceBodyOf } from "@geomesh/geo";
import type { Logger } from "@geomesh/logger";
import type { CurveOptions } from "@geomesh/protocol";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import type { ClusterView } from "./routes/cluster.js";

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

/**
 * Composition root of the gateway: one client per region broker, a coordinator whose leaf
 * requests (`geo.near@ne`, …) go to the owning region's broker — or, if that broker does not
 * answer, through any other broker (every broker is an entry point) — and the HTTP app.
 */
export class GatewayService {
  private app: FastifyInstance | undefined;
  private readonly clients = new Map<string, GeomeshClient>();
  private started: Promise<void> | undefined;
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

  private async doStart(): Promise<void> {
    const { config, logger } = this.options;
    const map = buildRegionMap(config.regions.map((r) => ({ name: r.name, polygon: r.polygon })));
    const names = map.names();
    const leaf: LeafCaller = async (region, request) => {
      const service = `${request.service}@${region}`;
      const body = serviceBodyOf(request);
      let lastError: unknown;
      // The owner's broker first; then the others, which forward or serve it themselves.
      for (const entry of [region, ...names.filter((n) => n !== region)]) {
        try {
          return await this.client(entry).request(service, body);
        } catch (err) {
          if (!isGeomeshError(err) || !UNREACHABLE.has(err.code)) throw err;
          lastError = err;
          logger.warn({ region, entry, code: err.code }, "broker did not answer; trying another");
        }
      }
      throw lastError;
    };
    const view: ClusterView = {
      regionStatus: async () => {
        const out: Record<string, unknown> = {};
        await Promise.all(
          names.map(async (name) => {
            try {
              const s = await this.client(name).request<Record<string, unknown>>(
                "broker.status",
                {},
                { timeoutMs: 1000 },
              );
              out[name] = {
                reachable: true,
                workers: (s.workers as unknown[] | undefined)?.length ?? 0,
                freeCapacity: s.freeCapacity,
                pending: s.pending,
                peers: s.peers,
                counters: s.counters,
              };
            } catch {
              out[name] = { reachable: false };
            }
          }),
        );
        return out;
      },
      ready: async () => {
        const status = await view.regionStatus();
        const reachable = Object.entries(status)
          .filter(([, s]) => (s as { reachable: boolean }).reachable)
          .map(([n]) => n);
        return {
          ready: reachable.length > 0,
          detail: { reachable, unreachable: names.filter((n) => !reachable.includes(n)) },
        };
      },
    };
    this.app = await buildApp({ coordinator: new Coordinator(map, leaf), cluster: view, logger });
    this.address = await this.app.listen({ host: this.options.host, port: this.options.port });
    logger.info({ address: this.address }, "gateway listening");
  }

  async stop(): Promise<void> {
    await this.started?.catch(() => undefined);
    await this.app?.close();
    for (const c of this.clients.values()) await c.close();
  }
}
