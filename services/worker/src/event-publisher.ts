import { type ChangeMove, placeEventOf } from "@geomesh/coordinator";
import { type Logger, RateLimitedLog } from "@geomesh/logger";
import {
  BROKER_PUBLISH_PREFIX,
  Client,
  type CurveOptions,
  type HeartbeatOptions,
} from "@geomesh/protocol";
import type { PlaceChange } from "@geomesh/store";

export interface EventPublisherOptions {
  /** Frontend of the broker this worker serves; it carries each event to the owning region's broker. */
  readonly endpoint: string;
  readonly heartbeat?: Partial<HeartbeatOptions>;
  readonly curve?: CurveOptions;
  readonly logger: Logger;
  /** Per publish (default 5000 ms). */
  readonly timeoutMs?: number;
}

export interface EventPublisherCounters {
  published: number;
  failed: number;
}

/**
 * Hands each committed change to its region's broker (`broker.publish@REGION`, body
 * `[seq, event JSON]`), which publishes it in seq order. Called after the store's transaction,
 * so an event never announces a write that is not durable. A publish that fails (the broker is
 * down) is logged and counted: live subscribers then see a gap in that region's numbers.
 */
export class EventPublisher {
  private readonly client: Client;
  private readonly noisy: RateLimitedLog;
  private readonly inflight = new Set<Promise<void>>();
  readonly counters: EventPublisherCounters = { published: 0, failed: 0 };

  constructor(private readonly options: EventPublisherOptions) {
    this.client = new Client({
      endpoint: options.endpoint,
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
      ...(options.curve ? { curve: options.curve } : {}),
    });
    this.noisy = new RateLimitedLog(options.logger.child({ component: "event-publisher" }));
  }

  /** Publishes one change of `region` (fire and forget; `stop()` waits for what is in flight). */
  publish(region: string, change: PlaceChange, move?: ChangeMove): void {
    const body = [
      Buffer.from(String(change.seq)),
      Buffer.from(JSON.stringify(placeEventOf(region, change, move))),
    ];
    const sent = this.client
      .request(`${BROKER_PUBLISH_PREFIX}${region}`, body, {
        idempotent: true, // the broker drops a seq it has already published
        timeoutMs: this.options.timeoutMs ?? 5000,
      })
      .then(
        (reply) => {
          if (reply.status === 200) this.counters.published += 1;
          else this.fail(region, change.seq, `status ${reply.status}`);
        },
        (err: unknown) => this.fail(region, change.seq, (err as Error).message),
      )
      .finally(() => this.inflight.delete(sent));
    this.inflight.add(sent);
  }

  private fail(region: string, seq: number, why: string): void {
    this.counters.failed += 1;
    this.noisy.warn({ region, seq, why }, "place event not published");
  }

  /** Waits for publishes in flight, then closes the connection. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.client.close();
  }
}
