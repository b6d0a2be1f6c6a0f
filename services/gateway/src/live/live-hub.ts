import type { PlaceEvent } from "@geomesh/coordinator";
import { GeomeshError, isGeomeshError } from "@geomesh/errors";
import {
  type LngLat,
  type Place,
  type RegionMap,
  assertSafeJson,
  parseFilter,
  parseWithinBody,
} from "@geomesh/geo";
import type { Logger } from "@geomesh/logger";
import type { FeedMessage } from "./event-feed.js";
import {
  type LiveSubscription,
  SubscriptionIndex,
  classify,
  classifyMoveOut,
} from "./subscription-index.js";

/** The part of a WebSocket the hub uses (the `ws` socket satisfies it). */
export interface LiveSocket {
  send(data: string): void;
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
}

/** Where the hub follows regions: the event feed (or a fake in unit tests). */
export interface RegionFollower {
  want(region: string): Promise<void>;
  release(region: string): void;
}

export interface LiveLimits {
  /** Subscriptions one socket may hold (default 100). */
  readonly maxSubscriptions?: number;
  /** Messages queued for a slow socket before the oldest are dropped (default 1000). */
  readonly maxQueued?: number;
  /** Bytes buffered in the socket above which messages wait in our queue (default 1 MiB). */
  readonly highWaterBytes?: number;
}

interface Session {
  readonly id: string;
  readonly socket: LiveSocket;
  readonly subscriptions: Map<string, LiveSubscription>;
  readonly queue: string[];
  dropped: number;
  /** Messages are handled one after another, so answers come in the order asked. */
  chain: Promise<void>;
}

const SUBSCRIPTION_ID = /^[\x21-\x7e]{1,64}$/;

/**
 * The gateway's live feeds: WebSocket sessions, their subscriptions (area + filter) in a spatial
 * index, and delivery of each region's events — in the region's seq order — to every matching
 * subscription exactly once. A slow socket gets a bounded queue: past `maxQueued` the oldest
 * messages are dropped and the socket is told how many (`{"type":"dropped","count":N}`) before the
 * next message it gets, so memory stays bounded whatever the client does.
 */
export class LiveHub {
  private readonly sessions = new Map<string, Session>();
  private readonly index = new SubscriptionIndex();
  private readonly byRegion = new Map<string, Set<LiveSubscription>>();
  private nextSession = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  readonly counters = { delivered: 0, dropped: 0, events: 0, gaps: 0 };
  private readonly limits: Required<LiveLimits>;

  constructor(
    private readonly map: RegionMap,
    private readonly follower: RegionFollower,
    private readonly logger: Logger,
    limits: LiveLimits = {},
  ) {
    this.limits = {
      maxSubscriptions: limits.maxSubscriptions ?? 100,
      maxQueued: limits.maxQueued ?? 1000,
      highWaterBytes: limits.highWaterBytes ?? 1024 * 1024,
    };
  }

  get subscriptionCount(): number {
    return this.index.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A new socket; returns its session id. */
  open(socket: LiveSocket): string {
    const id = (this.nextSession++).toString(36);
    this.sessions.set(id, {
      id,
      socket,
      subscriptions: new Map(),
      queue: [],
      dropped: 0,
      chain: Promise.resolve(),
    });
    this.flushTimer ??= setInterval(() => this.flushAll(), 20);
    this.flushTimer.unref();
    return id;
  }

  /** The socket closed: its subscriptions go. */
  close(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    for (const sub of s.subscriptions.values()) this.drop(sub);
    this.sessions.delete(sessionId);
    if (this.sessions.size === 0 && this.flushTimer) {
      clearInterval(this.flushTimer);
      this.flushTimer = undefined;
    }
  }

  stop(): void {
    for (const s of [...this.sessions.values()]) {
      s.socket.close(1001, "gateway shutting down");
      this.close(s.id);
    }
  }

  /** One text frame from a client: subscribe / unsubscribe / ping. Never rejects. */
  onMessage(sessionId: string, text: string): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (!s) return Promise.resolve();
    s.chain = s.chain.then(() => this.handle(s, text));
    return s.chain;
  }

  private async handle(s: Session, text: string): Promise<void> {
    let id: string | undefined;
    try {
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        throw new GeomeshError("BAD_REQUEST", "message is not valid JSON");
      }
      assertSafeJson(msg, []);
      if (typeof msg !== "object" || msg === null || Array.isArray(msg))
        throw new GeomeshError("VALIDATION_FAILED", "message must be a JSON object");
      const m = msg as Record<string, unknown>;
      if (typeof m.id === "string") id = m.id.slice(0, 64);
      switch (m.op) {
        case "subscribe":
          await this.subscribe(s, m);
          return;
        case "unsubscribe": {
          const sub = typeof m.id === "string" ? s.subscriptions.get(m.id) : undefined;
          if (!sub)
            throw new GeomeshError("NOT_FOUND", `no subscription ${JSON.stringify(id ?? null)}`);
          this.drop(sub);
          this.send(s, { type: "unsubscribed", id: sub.id });
          return;
        }
        case "ping":
          this.send(s, { type: "pong" });
          return;
        default:
          throw new GeomeshError(
            "VALIDATION_FAILED",
            'op must be "subscribe", "unsubscribe" or "ping"',
          );
      }
    } catch (err) {
      const e = isGeomeshError(err) ? err : new GeomeshError("INTERNAL", "internal error");
      if (!isGeomeshError(err)) this.logger.error({ err }, "live message failed");
      this.send(s, { type: "error", ...(id === undefined ? {} : { id }), ...e.toWire() });
    }
  }

  private async subscribe(s: Session, m: Record<string, unknown>): Promise<void> {
    const allowed = new Set(["op", "id", "area", "filter"]);
    for (const key of Object.keys(m))
      if (!allowed.has(key))
        throw new GeomeshError(
          "VALIDATION_FAILED",
          `unknown field ${JSON.stringify(key.slice(0, 40))}`,
        );
    if (typeof m.id !== "string" || !SUBSCRIPTION_ID.test(m.id))
      throw new GeomeshError("VALIDATION_FAILED", "id must be 1-64 printable ASCII characters");
    if (s.subscriptions.has(m.id))
      throw new GeomeshError("CONFLICT", `subscription ${JSON.stringify(m.id)} exists already`);
    if (s.subscriptions.size >= this.limits.maxSubscriptions)
      throw new GeomeshError(
        "LIMIT_EXCEEDED",
        `at most ${this.limits.maxSubscriptions} subscriptions per socket`,
      );
    // The area has the shapes of a within query: {circle}, {box} or {geometry}.
    if (typeof m.area !== "object" || m.area === null || Array.isArray(m.area))
      throw new GeomeshError("VALIDATION_FAILED", "area must be {circle}, {box} or {geometry}");
    const shape = parseWithinBody(m.area).shape;
    const filter = m.filter === undefined ? undefined : parseFilter(m.filter);
    const regions = this.map.regionsForShape(shape);
    const sub: LiveSubscription = {
      session: s.id,
      id: m.id,
      shape,
      ...(filter ? { filter } : {}),
      regions,
    };
    // Hold the id while the feed syncs, so a second subscribe with it is refused.
    s.subscriptions.set(sub.id, sub);
    const followed: string[] = [];
    try {
      for (const r of regions) {
        await this.follower.want(r);
        followed.push(r);
      }
    } catch (err) {
      for (const r of followed) this.follower.release(r);
      s.subscriptions.delete(sub.id);
      throw new GeomeshError(
        "BROKER_UNAVAILABLE",
        `cannot follow the area's regions: ${(err as Error).message}`,
      );
    }
    if (!this.sessions.has(s.id)) {
      for (const r of regions) this.follower.release(r);
      return;
    }
    this.index.add(sub);
    for (const r of regions) {
      let set = this.byRegion.get(r);
      if (!set) this.byRegion.set(r, (set = new Set()));
      set.add(sub);
    }
    this.send(s, { type: "subscribed", id: sub.id, regions });
  }

  private drop(sub: LiveSubscription): void {
    const s = this.sessions.get(sub.session);
    if (s?.subscriptions.get(sub.id) !== sub) return;
    s.subscriptions.delete(sub.id);
    this.index.remove(sub);
    for (const r of sub.regions) {
      this.byRegion.get(r)?.delete(sub);
      this.follower.release(r);
    }
  }

  /** A feed message: an event to match, or a gap to report to the region's subscribers. */
  onFeed(message: FeedMessage): void {
    if (message.kind === "gap") {
      this.counters.gaps += 1;
      const told = new Set<Session>();
      for (const sub of this.byRegion.get(message.region) ?? []) {
        const s = this.sessions.get(sub.session);
        if (!s || told.has(s)) continue;
        told.add(s);
        this.send(s, { type: "gap", region: message.region, from: message.from, to: message.to });
      }
      return;
    }
    this.counters.events += 1;
    const e = message.event;
    const place = placeOf(e.place, e.id);
    const moveOut = e.kind === "deleted" && e.movedTo ? placeOf(e.movedTo.place, e.id) : undefined;
    // Where the place was before this write (an update, or a move in from another region).
    const before: LngLat | undefined = e.kind === "deleted" ? undefined : e.previous;
    const points: LngLat[] = [place.location.coordinates];
    if (before) points.push(before);
    // The part every recipient shares, serialized once per event, not once per subscription.
    let shared: string | undefined;
    for (const sub of this.index.candidates(points)) {
      if (!sub.regions.includes(e.region)) continue;
      const kind = moveOut
        ? classifyMoveOut(sub, place.location.coordinates, moveOut)
        : e.kind === "deleted"
          ? classify(sub, undefined, undefined, place)
          : classify(sub, before, place, undefined);
      // A place that moved in and left this area: the old region's event says so (exit).
      if (!kind || (kind === "exit" && e.movedFrom !== undefined)) continue;
      const s = this.sessions.get(sub.session);
      if (!s) continue;
      this.counters.delivered += 1;
      shared ??= JSON.stringify({
        region: e.region,
        seq: e.seq,
        id: e.id,
        place: e.place,
        at: e.at,
      }).slice(1);
      this.sendText(
        s,
        `{"type":"event","subscription":${JSON.stringify(sub.id)},"kind":"${kind}",${shared}`,
      );
    }
  }

  private send(s: Session, message: object): void {
    this.sendText(s, JSON.stringify(message));
  }

  private sendText(s: Session, text: string): void {
    if (s.queue.length === 0 && s.socket.bufferedAmount < this.limits.highWaterBytes) {
      s.socket.send(text);
      return;
    }
    s.queue.push(text);
    if (s.queue.length > this.limits.maxQueued) {
      s.queue.shift();
      s.dropped += 1;
      this.counters.dropped += 1;
    }
  }

  private flushAll(): void {
    for (const s of this.sessions.values()) {
      if (s.queue.length === 0 && s.dropped === 0) continue;
      if (s.dropped > 0 && s.socket.bufferedAmount < this.limits.highWaterBytes) {
        s.socket.send(JSON.stringify({ type: "dropped", count: s.dropped }));
        s.dropped = 0;
      }
      while (s.queue.length > 0 && s.socket.bufferedAmount < this.limits.highWaterBytes)
        s.socket.send(s.queue.shift()!);
    }
  }
}

/** An event's place Feature as the model's Place (for matching). */
function placeOf(p: PlaceEvent["place"], id: string): Place {
  return {
    id,
    name: p.properties.name,
    category: p.properties.category,
    location: { type: "Point", coordinates: p.geometry.coordinates },
    tags: p.properties.tags,
    properties: p.properties.properties,
    updatedAt: p.properties.updatedAt,
  };
}
