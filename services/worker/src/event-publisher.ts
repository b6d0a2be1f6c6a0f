import { placeEventOf } from "@geomesh/coordinator";
import { type Logger, RateLimitedLog } from "@geomesh/logger";
import {
  BROKER_OUTBOX_PREFIX,
  BROKER_PUBLISH_PREFIX,
  Client,
  MAX_PUBLISH_EVENTS,
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
  /**
   * Sweeps that asked nobody: the outbox head had not moved since the region's broker confirmed
   * it had published up to there.
   */
  unchanged: number;
}

/** Most changes one sweep re-sends per region (the next sweep goes on from there). */
const SWEEP_BATCH = 5 * MAX_PUBLISH_EVENTS;

/**
 * Hands each committed change to its region's broker (`broker.publish@REGION`, body
 * `[seq, event JSON]` pairs), which publishes it in seq order. The changes of one write (all
 * published in the same turn of the event loop) go in one request of up to MAX_PUBLISH_EVENTS, so
 * a bulk write costs a few broker round trips, not one per place. Called after the store's transaction,
 * so an event never announces a write that is not durable.
 *
 * A publish can be lost — the worker dies between commit and publish, the broker is down or
 * restarts — so the store's outbox is the source of truth: `sweep` (at start and every heartbeat
 * interval, per held region) asks the region's broker where it stands (`broker.outbox@REGION
 * [head]`) and re-sends what follows from `changesSince`, each with the seq of its predecessor in
 * the outbox (`[seq, event, after]`). Only changes committed before the previous sweep are
 * re-sent, so a publish still in flight is not doubled (the broker drops a repeat anyway). A
 * sweep whose outbox head has not moved since the broker confirmed publishing up to it sends
 * nothing (an idle cluster does not ask every broker every second).
 */
export class EventPublisher {
  private readonly client: Client;
  private readonly log: Logger;
  private readonly noisy: RateLimitedLog;
  private readonly inflight = new Set<Promise<void>>();
  /** Per region: the outbox head seen by the previous sweep. */
  private readonly lastHead = new Map<string, number>();
  /** Per region: the outbox head its broker last said it had published (nothing to re-send). */
  private readonly confirmed = new Map<string, number>();
  readonly counters: EventPublisherCounters = {
    published: 0,
    failed: 0,
    sweeps: 0,
    resent: 0,
    unchanged: 0,
  };
  /** Per region: changes published in this turn of the event loop, sent together at its end. */
  private readonly pending = new Map<string, PlaceChange[]>();
  private flushScheduled = false;

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
    const list = this.pending.get(region);
    if (list) list.push(change);
    else this.pending.set(region, [change]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [region, changes] of this.pending)
      for (let i = 0; i < changes.length; i += MAX_PUBLISH_EVENTS)
        this.track(this.send(region, changes.slice(i, i + MAX_PUBLISH_EVENTS), undefined));
    this.pending.clear();
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
      // Nothing committed since the broker had it all: nothing can be missing (a broker that
      // restarted since starts its sequence at the next event it is sent).
      if (this.confirmed.get(region) === head) {
        this.counters.unchanged += 1;
        return;
      }
      const reply = await this.client.request(
        `${BROKER_OUTBOX_PREFIX}${region}`,
        [Buffer.from(String(head))],
        { idempotent: true, timeoutMs: this.options.timeoutMs ?? 5000 },
      );
      if (reply.status !== 200) throw new Error(`outbox status ${reply.status}`);
      const published = parseLast(reply.body[0]);
      if (published >= head) this.confirmed.set(region, head);
      const upTo = Math.min(head, previous);
      if (published >= upTo) return;
      const changes = (await store.changesSince(published, SWEEP_BATCH)).filter(
        (change) => change.seq <= upTo,
      );
      // Each chunk names the change before its first in the outbox; the rest follow in order.
      const sends: Promise<void>[] = [];
      let after = published;
      for (let i = 0; i < changes.length; i += MAX_PUBLISH_EVENTS) {
        const chunk = changes.slice(i, i + MAX_PUBLISH_EVENTS);
        sends.push(this.send(region, chunk, after));
        after = chunk[chunk.length - 1]!.seq;
      }
      this.counters.resent += changes.length;
      if (changes.length > 0)
        this.log.info(
          { region, from: published + 1, to: after, events: changes.length },
          "re-sent events the broker had not published",
        );
      await Promise.all(sends);
    } catch (err) {
      this.noisy.warn({ region, why: (err as Error).message }, "outbox sweep failed");
    }
  }

  private send(
    region: string,
    changes: readonly PlaceChange[],
    after: number | undefined,
  ): Promise<void> {
    const body: Buffer[] = [];
    for (const change of changes)
      body.push(
        Buffer.from(String(change.seq)),
        Buffer.from(JSON.stringify(placeEventOf(region, change))),
      );
    if (after !== undefined) body.push(Buffer.from(String(after)));
    const seqs = `${changes[0]?.seq}..${changes[changes.length - 1]?.seq}`;
    return this.client
      .request(`${BROKER_PUBLISH_PREFIX}${region}`, body, {
        idempotent: true, // the broker drops a seq it has already published
        timeoutMs: this.options.timeoutMs ?? 5000,
      })
      .then(
        (reply) => {
          if (reply.status === 200) this.counters.published += changes.length;
          else this.fail(region, changes.length, seqs, `status ${reply.status}`);
        },
        (err: unknown) => this.fail(region, changes.length, seqs, (err as Error).message),
      );
  }

  private track(sent: Promise<void>): void {
    const tracked = sent.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  private fail(region: string, events: number, seqs: string, why: string): void {
    this.counters.failed += events;
    this.noisy.warn(
      { region, seqs, why },
      "place events not published (the outbox sweep re-sends them)",
    );
  }

  /** Waits for publishes in flight, then closes the connection. */
  async stop(): Promise<void> {
    this.flush();
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
