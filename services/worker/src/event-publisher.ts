import { placeEventOf } from "@geomesh/coordinator";
import { type Logger, RateLimitedLog } from "@geomesh/logger";
import {
  BROKER_OUTBOX_PREFIX,
  BROKER_PUBLISH_PREFIX,
  Client,
  type CurveOptions,
  type HeartbeatOptions,
} from "@geomesh/protocol";
import type { GeoStore, PlaceChange } from "@geomesh/store";

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
  /** Sweeps run (one per held region each time). */
  sweeps: number;
  /** Events re-sent from the outbox because the region's broker had not published them. */
  resent: number;
}

/** Most changes one sweep re-sends per region (the next sweep goes on from there). */
const SWEEP_BATCH = 1000;

/**
 * Hands each committed change to its region's broker (`broker.publish@REGION`, body
 * `[seq, event JSON]`), which publishes it in seq order. Called after the store's transaction,
 * so an event never announces a write that is not durable.
 *
 * A publish can be lost — the worker dies between commit and publish, the broker is down or
 * restarts — so the store's outbox is the source of truth: `sweep` (at start and every heartbeat
 * interval, per held region) asks the region's broker where it stands (`broker.outbox@REGION
 * [head]`) and re-sends what follows from `changesSince`, each with the seq of its predecessor in
 * the outbox (`[seq, event, after]`). Only changes committed before the previous sweep are
 * re-sent, so a publish still in flight is not doubled (the broker drops a repeat anyway).
 */
export class EventPublisher {
  private readonly client: Client;
  private readonly log: Logger;
  private readonly noisy: RateLimitedLog;
  private readonly inflight = new Set<Promise<void>>();
  /** Per region: the outbox head seen by the previous sweep. */
  private readonly lastHead = new Map<string, number>();
  readonly counters: EventPublisherCounters = { published: 0, failed: 0, sweeps: 0, resent: 0 };

  constructor(private readonly options: EventPublisherOptions) {
    this.client = new Client({
      endpoint: options.endpoint,
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
      ...(options.curve ? { curve: options.curve } : {}),
    });
    this.log = options.logger.child({ component: "event-publisher" });
    this.noisy = new RateLimitedLog(this.log);
  }

  /** Publishes one change of `region` (fire and forget; `stop()` waits for what is in flight). */
  publish(region: string, change: PlaceChange): void {
    this.track(this.send(region, change, undefined));
  }

  /**
   * Re-sends what `region`'s broker has not published from `store`'s outbox. Resolves when the
   * re-sends are answered; never rejects (a broker that is down is tried again next sweep).
   */
  async sweep(region: string, store: GeoStore): Promise<void> {
    this.counters.sweeps += 1;
    try {
      const { last: head } = await store.changeRange();
      const previous = this.lastHead.get(region) ?? head;
      this.lastHead.set(region, head);
      const reply = await this.client.request(
        `${BROKER_OUTBOX_PREFIX}${region}`,
        [Buffer.from(String(head))],
        { idempotent: true, timeoutMs: this.options.timeoutMs ?? 5000 },
      );
      if (reply.status !== 200) throw new Error(`outbox status ${reply.status}`);
      const published = parseLast(reply.body[0]);
      const upTo = Math.min(head, previous);
      if (published >= upTo) return;
      let after = published;
      const sends: Promise<void>[] = [];
      for (const change of await store.changesSince(published, SWEEP_BATCH)) {
        if (change.seq > upTo) break;
        sends.push(this.send(region, change, after));
        after = change.seq;
      }
      this.counters.resent += sends.length;
      if (sends.length > 0)
        this.log.info(
          { region, from: published + 1, to: after, events: sends.length },
          "re-sent events the broker had not published",
        );
      await Promise.all(sends);
    } catch (err) {
      this.noisy.warn({ region, why: (err as Error).message }, "outbox sweep failed");
    }
  }

  private send(region: string, change: PlaceChange, after: number | undefined): Promise<void> {
    const body = [
      Buffer.from(String(change.seq)),
      Buffer.from(JSON.stringify(placeEventOf(region, change))),
    ];
    if (after !== undefined) body.push(Buffer.from(String(after)));
    return this.client
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
      );
  }

  private track(sent: Promise<void>): void {
    const tracked = sent.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  private fail(region: string, seq: number, why: string): void {
    this.counters.failed += 1;
    this.noisy.warn(
      { region, seq, why },
      "place event not published (the outbox sweep re-sends it)",
    );
  }

  /** Waits for publishes in flight, then closes the connection. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.client.close();
  }
}

/** The broker's `{"last": n}` (a broker is checked like any peer on the wire). */
function parseLast(frame: Buffer | undefined): number {
  let v: unknown;
  try {
    v = JSON.parse(frame?.toString("utf8") ?? "");
  } catch {
    throw new Error("outbox reply is not JSON");
  }
  const last = (v as { last?: unknown } | null)?.last;
  if (typeof last !== "number" || !Number.isSafeInteger(last) || last < 0)
    throw new Error("outbox reply has no valid last");
  return last;
}
