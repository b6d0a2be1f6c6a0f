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
}

interface RegionState {
  refs: number;
  /** Last seq seen (from sync, an event or a tick); undefined until synced. */
  last: number | undefined;
  synced: Promise<void>;
  resolveSynced: () => void;
}

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
  readonly counters = { events: 0, gaps: 0, malformed: 0, duplicates: 0 };

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
      s = { refs: 0, last: undefined, synced, resolveSynced };
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
    if (kind === "tick") {
      if (seq > s.last) this.gap(region, s, seq);
      return;
    }
    if (frames.length !== 4 || !body) return this.malformed("event without body");
    if (seq <= s.last) {
      this.counters.duplicates += 1;
      return;
    }
    const event = parseEvent(body, region, seq);
    if (!event) return this.malformed("event body is not a place event of its region and seq");
    if (seq > s.last + 1) this.gap(region, s, seq - 1);
    s.last = seq;
    this.counters.events += 1;
    this.deliver({ kind: "event", event });
  }

  private gap(region: string, s: RegionState, to: number): void {
    const from = (s.last ?? 0) + 1;
    s.last = to;
    this.counters.gaps += 1;
    this.deliver({ kind: "gap", region, from, to });
  }
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
