import type { PlaceEvent } from "@geomesh/coordinator";
import type { Logger } from "@geomesh/logger";
import { RateLimitedLog } from "@geomesh/logger";
import type { CurveOptions } from "@geomesh/protocol";
import * as zmq from "zeromq";

/** What the feed hands on, per region, in seq order. */
export type FeedMessage =
  | { readonly kind: "event"; readonly event: PlaceEvent }
  /** Numbers `from`..`to` of `region` never arrived (lost, or skipped by the broker). */
  | { readonly kind: "gap"; readonly region: string; readonly from: number; readonly to: number };

export interface EventFeedOptions {
  /** Region name → its broker's events endpoint. */
  readonly regions: ReadonlyMap<string, string>;
  readonly curve?: CurveOptions;
  readonly logger: Logger;
  /** How long `want` waits for a region's sync mark before giving up (default 5000 ms). */
  readonly syncTimeoutMs?: number;
  /**
   * Reads a region's outbox (`changes.since@REGION`: events with seq > `since`, at most `limit`)
   * to refill a gap. Without it a gap is reported at once.
   */
  readonly refill?: (region: string, since: number, limit: number) => Promise<unknown>;
  /** How long a gap is refilled (retrying) before it is reported (default 5000 ms). */
  readonly refillTimeoutMs?: number;
}

/** A message held while its region's gap is refilled. */
type Pending = { readonly seq: number; readonly event?: PlaceEvent };

interface RegionState {
  refs: number;
  /** Last seq delivered (from sync, an event, a refill or a reported gap); undefined until synced. */
  last: number | undefined;
  synced: Promise<void>;
  resolveSynced: () => void;
  /** A refill is running: later messages wait here, in arrival order. */
  refilling: boolean;
  pending: Pending[];
}

/** Most events one `changes.since` request asks for. */
const REFILL_PAGE = 1000;
/** A gap wider than this is refilled from its newest end; the older part is reported. */
const REFILL_MAX = 20_000;
/** Messages held during one refill before the feed stops holding and reports a gap instead. */
const PENDING_MAX = 100_000;

const KINDS = new Set(["event", "sync", "tick"]);

/**
 * One SUB socket on every region broker's events socket, subscribed (ZeroMQ prefix filtering on
 * the topic `REGION.`) only to the regions some live subscription touches. A region counts as
 * followed once its broker's `sync` mark arrives: from then on every event it publishes reaches
 * us, in order. Frames are untrusted: anything malformed is dropped and counted.
 */
export class EventFeed {
  private readonly socket: zmq.Subscriber;
  private readonly state = new Map<string, RegionState>();
  private readonly noisy: RateLimitedLog;
  private readonly byTopic = new Map<string, string>();
  private loop: Promise<void> | undefined;
  readonly counters = {
    events: 0,
    gaps: 0,
    malformed: 0,
    duplicates: 0,
    /** Gaps refilled from an outbox, and the events they brought. */
    refills: 0,
    refilled: 0,
  };

  constructor(
    private readonly options: EventFeedOptions,
    private readonly deliver: (message: FeedMessage) => void,
  ) {
    this.socket = new zmq.Subscriber({
      ...options.curve,
      linger: 0,
      receiveHighWaterMark: 100_000,
      maxMessageSize: 1024 * 1024,
    });
    this.noisy = new RateLimitedLog(options.logger);
    for (const name of options.regions.keys()) this.byTopic.set(`${name}.`, name);
  }

  start(): void {
    if (this.loop) return;
    for (const endpoint of this.options.regions.values()) this.socket.connect(endpoint);
    this.loop = this.receive();
  }

  /** Follows a region (ref-counted); resolves once its broker's sync mark is in. */
  async want(region: string): Promise<void> {
    let s = this.state.get(region);
    if (!s) {
      let resolveSynced = () => {};
      const synced = new Promise<void>((r) => (resolveSynced = r));
      s = { refs: 0, last: undefined, synced, resolveSynced, refilling: false, pending: [] };
      this.state.set(region, s);
      this.socket.subscribe(`${region}.`);
    }
    s.refs += 1;
    const timeout = this.options.syncTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        s.synced,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no sync from region ${region}'s broker within ${timeout} ms`)),
            timeout,
          );
          timer.unref();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops following a region when no subscription needs it any more. */
  release(region: string): void {
    const s = this.state.get(region);
    if (!s) return;
    s.refs -= 1;
    if (s.refs > 0) return;
    this.state.delete(region);
    this.socket.unsubscribe(`${region}.`);
  }

  /** Regions followed now. */
  followed(): string[] {
    return [...this.state.keys()];
  }

  async stop(): Promise<void> {
    this.socket.close();
    await this.loop?.catch(() => undefined);
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.socket) this.onMessage(frames);
    } catch (err) {
      if (!this.socket.closed) this.options.logger.warn({ err }, "event feed stopped");
    }
  }

  private malformed(why: string): void {
    this.counters.malformed += 1;
    this.noisy.warn({ why }, "dropped a malformed event message");
  }

  private onMessage(frames: Buffer[]): void {
    const [topic, kindFrame, seqFrame, body] = frames;
    const region = topic ? this.byTopic.get(topic.toString("latin1")) : undefined;
    const kind = kindFrame?.toString("latin1");
    const seq = Number(seqFrame?.toString("latin1"));
    if (region === undefined || kind === undefined || !KINDS.has(kind))
      return this.malformed("unknown topic or kind");
    if (!Number.isSafeInteger(seq) || seq < 0) return this.malformed("bad seq");
    const s = this.state.get(region);
    if (!s) return; // no longer followed (an unsubscribe still in flight)
    if (kind === "sync") {
      if (s.last === undefined) {
        s.last = seq;
        s.resolveSynced();
      }
      return;
    }
    if (s.last === undefined) return; // before our sync: not ours to deliver
    if (kind === "tick") return this.take(region, s, { seq });
    if (frames.length !== 4 || !body) return this.malformed("event without body");
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch {
      return this.malformed("event body is not JSON");
    }
    const event = checkEvent(value, region, seq);
    if (!event) return this.malformed("event body is not a place event of its region and seq");
    this.take(region, s, { seq, event });
  }

  /**
   * One message in order: an event right after the last delivers; a later event or a tick ahead
   * of us reveals a gap, refilled from the region's outbox before anything after it is delivered.
   */
  private take(region: string, s: RegionState, m: Pending): void {
    if (s.refilling) {
      if (s.pending.length < PENDING_MAX) s.pending.push(m);
      else this.overflow(region, s, m);
      return;
    }
    const last = s.last ?? 0;
    if (m.seq <= last) {
      if (m.event) this.counters.duplicates += 1;
      return;
    }
    if (m.event && m.seq === last + 1) return this.deliverEvent(s, m.event);
    const to = m.event ? m.seq - 1 : m.seq;
    if (m.event) s.pending.push(m);
    if (!this.options.refill) {
      this.gap(region, s, to);
      return this.drainPending(region, s);
    }
    s.refilling = true;
    void this.refillGap(region, s, to).finally(() => {
      s.refilling = false;
      this.drainPending(region, s);
    });
  }

  private deliverEvent(s: RegionState, event: PlaceEvent): void {
    s.last = event.seq;
    this.counters.events += 1;
    this.deliver({ kind: "event", event });
  }

  private drainPending(region: string, s: RegionState): void {
    while (s.pending.length > 0 && !s.refilling && this.state.get(region) === s)
      this.take(region, s, s.pending.shift()!);
  }

  /** Too much arrived during one refill: stop holding; what is held is reported as a gap. */
  private overflow(region: string, s: RegionState, m: Pending): void {
    const newest = Math.max(m.seq, ...s.pending.map((p) => p.seq));
    s.pending = [];
    this.gap(region, s, newest);
  }

  /** Fetches `(last, to]` from the outbox and delivers it in order; reports only what it lacks. */
  private async refillGap(region: string, s: RegionState, to: number): Promise<void> {
    const refill = this.options.refill!;
    this.counters.refills += 1;
    const from = (s.last ?? 0) + 1;
    const before = this.counters.refilled;
    if (to - (s.last ?? 0) > REFILL_MAX) this.gap(region, s, to - REFILL_MAX);
    const deadline = Date.now() + (this.options.refillTimeoutMs ?? 5000);
    while ((s.last ?? 0) < to && this.state.get(region) === s) {
      const since = s.last ?? 0;
      const limit = Math.min(REFILL_PAGE, to - since);
      let reply: RefillReply | undefined;
      try {
        reply = checkRefillReply(await refill(region, since, limit), region, since, to);
        if (!reply) this.malformed("refill reply is not an outbox page of the region");
      } catch (err) {
        this.noisy.warn({ region, since, to, err: (err as Error).message }, "gap refill failed");
      }
      if (this.state.get(region) !== s) return;
      if (reply) {
        for (const event of reply.events) {
          if (event.seq <= (s.last ?? 0)) continue;
          // Numbers before the event that the outbox no longer holds are lost: report them;
          // numbers it holds the range of but did not return were never committed.
          this.lostBefore(region, s, event.seq, reply.first);
          this.counters.refilled += 1;
          this.deliverEvent(s, event);
        }
        const complete = reply.events.length < limit;
        if (complete && reply.last >= to) {
          this.lostBefore(region, s, to + 1, reply.first);
          s.last = to;
        }
        if (reply.events.length > 0) continue; // next page at once
      }
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (this.state.get(region) === s && (s.last ?? 0) < to) this.gap(region, s, to);
    this.options.logger.info(
      { region, from, to, events: this.counters.refilled - before },
      "refilled a gap from the outbox",
    );
  }

  /** Reports the numbers below `next` that the outbox (holding `first`…) no longer has. */
  private lostBefore(region: string, s: RegionState, next: number, first: number): void {
    const last = s.last ?? 0;
    const lostTo = Math.min(next - 1, first > 0 ? first - 1 : next - 1);
    if (lostTo > last) this.gap(region, s, lostTo);
    s.last = Math.max(s.last ?? 0, next - 1);
  }

  private gap(region: string, s: RegionState, to: number): void {
    const from = (s.last ?? 0) + 1;
    if (to < from) return;
    s.last = to;
    this.counters.gaps += 1;
    this.deliver({ kind: "gap", region, from, to });
  }
}

interface RefillReply {
  readonly events: PlaceEvent[];
  readonly first: number;
  readonly last: number;
}

/** Checks a `changes.since` reply: events of the region, increasing seqs within `(since, to]`. */
function checkRefillReply(
  v: unknown,
  region: string,
  since: number,
  to: number,
): RefillReply | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as { events?: unknown; first?: unknown; last?: unknown };
  const int = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!Array.isArray(r.events) || !int(r.first) || !int(r.last)) return undefined;
  const events: PlaceEvent[] = [];
  let prev = since;
  for (const raw of r.events) {
    const seq = (raw as { seq?: unknown } | null)?.seq;
    if (!int(seq) || seq <= prev) return undefined;
    if (seq > to) break;
    const event = checkEvent(raw, region, seq);
    if (!event) return undefined;
    events.push(event);
    prev = seq;
  }
  return { events, first: r.first, last: r.last };
}

const isPosition = (v: unknown): v is [number, number] =>
  Array.isArray(v) &&
  v.length === 2 &&
  v.every((x) => typeof x === "number" && Number.isFinite(x)) &&
  Math.abs(v[0] as number) <= 180 &&
  Math.abs(v[1] as number) <= 90;

/** Checks an event body from the wire (a broker could be anyone on a misconfigured network). */
export function parseEvent(body: Buffer, region: string, seq: number): PlaceEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  return checkEvent(v, region, seq);
}

/** Checks a parsed event (from the events socket or an outbox refill). */
export function checkEvent(v: unknown, region: string, seq: number): PlaceEvent | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const e = v as Partial<PlaceEvent>;
  const place = e.place as
    { geometry?: { coordinates?: unknown }; properties?: unknown } | undefined;
  if (
    e.type !== "place.event" ||
    e.region !== region ||
    e.seq !== seq ||
    (e.kind !== "created" && e.kind !== "updated" && e.kind !== "deleted") ||
    typeof e.id !== "string" ||
    typeof e.at !== "string" ||
    typeof place !== "object" ||
    place === null ||
    !isPosition(place.geometry?.coordinates) ||
    typeof place.properties !== "object" ||
    (e.previous !== undefined && !isPosition(e.previous)) ||
    (e.movedTo !== undefined &&
      (typeof e.movedTo !== "object" ||
        e.movedTo === null ||
        typeof e.movedTo.region !== "string" ||
        !isPosition(
          (e.movedTo.place as { geometry?: { coordinates?: unknown } } | undefined)?.geometry
            ?.coordinates,
        )))
  )
    return undefined;
  return e as PlaceEvent;
}
