import { GeomeshError, type ErrorCode } from "@geomesh/errors";
import { type Logger, RateLimitedLog, silentLogger } from "@geomesh/logger";
import * as zmq from "zeromq";
import {
  type ClientRequest,
  encodeGmpClientHeartbeat,
  encodeGmpClientCancel,
  encodeGmpClientReply,
  encodeGmpRequest,
  encodeMdpClientReply,
  encodeMdpWorkerRequest,
  encodeWorkerCancel,
  encodeWorkerDisconnect,
  encodeWorkerHeartbeat,
  encodeWorkerRequest,
  encodeWorkerUpAck,
  type BackendMessage,
  type FrontendMessage,
  parseBackend,
  parseBrokerToClient,
  parseFrontend,
  type OutFrame,
  unbatch,
} from "./codec.js";
import { SendBatcher } from "./batch.js";
import { Flag, GMPC01, GMPW01 } from "./frames.js";
import {
  DEFAULT_HEARTBEAT,
  DEFAULT_NON_IDEMPOTENT_SERVICES,
  type HeartbeatOptions,
  baseService,
} from "./heartbeat.js";
import { EventSequencer, type SequencerCounters } from "./event-sequencer.js";
import { PeerTable } from "./peer-table.js";
import { ServiceQueue } from "./service-queue.js";
import {
  type CurveOptions,
  type SocketLimits,
  bindSocket,
  receiveLoop,
  createRouter,
  sendNow,
} from "./sockets.js";

export interface BrokerOptions {
  /** Endpoint the client-facing ROUTER binds (e.g. `tcp://127.0.0.1:7100`, `tcp://127.0.0.1:*`). */
  readonly frontend: string;
  /** Endpoint the worker-facing ROUTER binds. */
  readonly backend: string;
  /** Name used in logs and status (the region). */
  readonly name?: string;
  readonly heartbeat?: Partial<HeartbeatOptions>;
  /** Per-service queue bound; past it requests get 503 QUEUE_FULL at once. */
  readonly queuePerService?: number;
  /** Deadline for requests that carry none (7/MDP requests, GMP timeout 0). */
  readonly defaultTimeoutMs?: number;
  /**
   * How long a request waits for a service nobody offers (a worker may be registering) before
   * 404 SERVICE_NOT_FOUND, or 503 REGION_UNAVAILABLE for `service@REGION` of a peer region whose
   * broker is down (default 500 ms).
   */
  readonly unknownServiceMs?: number;
  /** 7/MDP requests to these services are not re-dispatched when their worker dies. */
  readonly nonIdempotentServices?: readonly string[];
  readonly limits?: SocketLimits;
  /** CURVE server options for both sockets (see security.ts). */
  readonly curve?: CurveOptions;
  /** Broker-to-broker links (cloud, state, events); without it the broker serves alone. */
  readonly peering?: PeeringOptions;
  readonly logger?: Logger;
}

/** A peer broker: its region name (routing id) and the endpoints this broker connects to. */
export interface PeerEndpoints {
  readonly name: string;
  readonly cloud: string;
  readonly state: string;
}

export interface PeeringOptions {
  /** This broker's region name: its routing id on the cloud links. */
  readonly region: string;
  /** cloudfe ROUTER bind endpoint (peers' cloudbe connect here). */
  readonly cloud: string;
  /** statebe PUB bind endpoint (peers' statefe subscribe here). */
  readonly state: string;
  /** events PUB bind endpoint (gateways subscribe here). */
  readonly events?: string;
  readonly peers: readonly PeerEndpoints[];
  /** Send work to idle peers when local workers are busy (default true). */
  readonly overflow?: boolean;
  /**
   * CURVE client options for the sockets that connect to peers (cloudbe, statefe); the bound
   * ones (cloudfe, statebe, events) use the broker's server `curve`.
   */
  readonly curve?: CurveOptions;
}

/** Where a request came from and how to answer it. */
interface ClientOrigin {
  readonly kind: "client";
  readonly identity: Buffer;
  readonly session: ClientSession | undefined;
  readonly dialect: "mdp" | "gmp";
  readonly requestId: string;
  readonly serviceRaw: Buffer;
}

/** A request that came over a cloud link from a peer broker. */
interface PeerOrigin {
  readonly kind: "peer";
  readonly identity: Buffer;
  readonly session: undefined;
  readonly dialect: "gmp";
  readonly requestId: string;
  readonly serviceRaw: Buffer;
}

interface Pending {
  readonly key: string;
  readonly origin: ClientOrigin | PeerOrigin;
  readonly service: string;
  readonly flags: number;
  readonly traceId: string;
  readonly body: Buffer[];
  readonly received: number;
  readonly deadline: number;
  queued: boolean;
  worker: WorkerEntry | undefined;
  /** The peer broker running it (ownership hop or overflow), if any. */
  peer: string | undefined;
  /** The requester has its answer (or is gone); only the worker's slot is still held. */
  done: boolean;
  /** PARTIAL bodies held for a requester that cannot stream (7/MDP). */
  held: Buffer[] | undefined;
  /** A PARTIAL has reached the requester: re-running the request would duplicate output. */
  streamed: boolean;
}

interface WorkerEntry {
  readonly id: string;
  readonly identity: Buffer;
  readonly dialect: "mdp" | "gmp";
  readonly services: readonly string[];
  readonly credit: number;
  /** GMP worker that reads BATCH: what one turn sends it goes out as one message. */
  readonly batch: boolean;
  readonly inflight: Map<string, Pending>;
  lastSeen: number;
  draining: boolean;
}

interface ServiceEntry {
  readonly name: string;
  readonly queue: ServiceQueue<Pending>;
  readonly workers: WorkerEntry[];
  next: number;
}

interface ClientSession {
  readonly id: string;
  readonly identity: Buffer;
  readonly requests: Map<string, Pending>;
  lastSeen: number;
  /** The client sent a BATCH, so it reads them. */
  batch: boolean;
}

/** Counters exposed by `status()` and the gateway's /metrics. */
export interface BrokerCounters {
  requests: number;
  replies: number;
  malformedFrontend: number;
  malformedBackend: number;
  badRequests: number;
  sendFailures: number;
  queueFull: number;
  deadlineExpired: number;
  serviceNotFound: number;
  regionUnavailable: number;
  workersExpired: number;
  workersDisconnected: number;
  redispatched: number;
  workerLost: number;
  clientsExpired: number;
  cancelled: number;
  lateReplies: number;
  forwarded: number;
  overflowOut: number;
  overflowIn: number;
  peerLost: number;
  peersDied: number;
  unroutable: number;
  /** Capacity announcements sent on the state flow (heartbeats included). */
  statesSent: number;
  /** Capacity changes not announced at once: no peer was overflowing here and 0 was not crossed. */
  statesDeferred: number;
}

export interface BrokerStatus {
  readonly name: string;
  readonly state: "idle" | "running" | "draining" | "stopped";
  readonly endpoints: {
    readonly frontend: string;
    readonly backend: string;
    readonly cloud?: string;
    readonly state?: string;
    readonly events?: string;
  };
  readonly heartbeat: HeartbeatOptions;
  readonly workers: {
    id: string;
    dialect: "mdp" | "gmp";
    services: readonly string[];
    credit: number;
    inflight: number;
    draining: boolean;
    lastSeenMsAgo: number;
  }[];
  readonly services: {
    name: string;
    workers: number;
    queued: number;
    inflight: number;
    freeCredit: number;
  }[];
  readonly freeCapacity: number;
  readonly pending: number;
  readonly clients: number;
  readonly counters: Readonly<BrokerCounters>;
  /** This region's place events (with an events socket): last seq published and counters. */
  readonly events?: Readonly<SequencerCounters> & { readonly lastSeq: number };
  readonly peers?: {
    name: string;
    alive: boolean;
    capacity: number;
    ageMs: number | null;
    inflight: number;
  }[];
}

const MMI_PREFIX = "mmi.";
/** The broker's own status service (JSON), used by `geomesh status`. */
export const BROKER_STATUS_SERVICE = "broker.status";
/**
 * `broker.publish@<region>`: a worker hands a committed place event to the region's broker, which
 * publishes it on its events socket in seq order. Body frames: `[seq (decimal), event JSON]` pairs
 * (1..MAX_PUBLISH_EVENTS, seq ascending: one request per committed write), plus `[after
 * (decimal)]` on a re-send from the outbox: the seq of the change before the first there (each
 * later pair then follows the one before it in the outbox).
 */
export const BROKER_PUBLISH_PREFIX = "broker.publish@";
/**
 * `broker.outbox@<region>`: a worker's sweep asks where the region's broker stands. Body
 * `[head (decimal)]`, the newest change in the store's outbox; reply `{"last": n}`, the last seq
 * the broker published (a fresh broker first adopts `head`). The worker re-sends what follows.
 */
export const BROKER_OUTBOX_PREFIX = "broker.outbox@";
/** Most events one `broker.publish@REGION` request carries. */
export const MAX_PUBLISH_EVENTS = 1000;
/** Default wait before a request for a service nobody offers is answered (ms). */
export const DEFAULT_UNKNOWN_SERVICE_MS = 500;
/**
 * Last resort: how long a missing event number holds back later ones before it is skipped (ms).
 * Workers re-send a missing event from the outbox within two sweep (heartbeat) intervals; this
 * bound only matters when no live worker of the region is left to re-send it.
 */
export const EVENT_HOLD_MS = 60_000;

/**
 * A Majordomo broker: 7/MDP clients and workers byte for byte, plus the extended GMP dialect
 * (request ids, statuses, streaming, deadlines, cancel, heartbeats, credit). One instance owns
 * a frontend ROUTER (clients) and a backend ROUTER (workers).
 */
export class Broker {
  readonly name: string;
  readonly heartbeat: HeartbeatOptions;
  readonly counters: BrokerCounters = {
    requests: 0,
    replies: 0,
    malformedFrontend: 0,
    malformedBackend: 0,
    badRequests: 0,
    sendFailures: 0,
    queueFull: 0,
    deadlineExpired: 0,
    serviceNotFound: 0,
    regionUnavailable: 0,
    workersExpired: 0,
    workersDisconnected: 0,
    redispatched: 0,
    workerLost: 0,
    clientsExpired: 0,
    cancelled: 0,
    lateReplies: 0,
    forwarded: 0,
    overflowOut: 0,
    overflowIn: 0,
    peerLost: 0,
    peersDied: 0,
    unroutable: 0,
    statesSent: 0,
    statesDeferred: 0,
  };

  private readonly log: Logger;
  private readonly noisy: RateLimitedLog;
  private readonly queueLimit: number;
  private readonly defaultTimeoutMs: number;
  private readonly unknownServiceMs: number;
  private readonly nonIdempotent: Set<string>;
  private readonly services = new Map<string, ServiceEntry>();
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly sessions = new Map<string, ClientSession>();
  private readonly pending = new Map<string, Pending>();
  private frontend: zmq.Router | undefined;
  private backend: zmq.Router | undefined;
  private cloudfe: zmq.Router | undefined;
  private cloudbe: zmq.Router | undefined;
  private statebe: zmq.Publisher | undefined;
  private statefe: zmq.Subscriber | undefined;
  private eventsPub: zmq.XPublisher | undefined;
  private sequencer: EventSequencer<Buffer> | undefined;
  /** Topic of this region's events: its name and a dot (names cannot hold dots, so no prefix clash). */
  private eventsTopic = "";
  private readonly peerTable: PeerTable | undefined;
  private readonly ownRegion: string | undefined;
  private readonly peerInflight = new Map<string, Set<Pending>>();
  private publishScheduled = false;
  private timers: NodeJS.Timeout[] = [];
  private loops: Promise<void>[] = [];
  private seq = 0;
  private state: BrokerStatus["state"] = "idle";
  private bound: {
    frontend: string;
    backend: string;
    cloud?: string;
    state?: string;
    events?: string;
  } = { frontend: "", backend: "" };
  private stopping: Promise<void> | undefined;
  private startedAt = 0;
  private readonly peerExpiryMs: number;
  private drained: (() => void) | undefined;

  constructor(private readonly options: BrokerOptions) {
    this.name = options.name ?? "broker";
    this.heartbeat = { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    this.queueLimit = options.queuePerService ?? 1000;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.unknownServiceMs = options.unknownServiceMs ?? DEFAULT_UNKNOWN_SERVICE_MS;
    this.peerExpiryMs = this.heartbeat.intervalMs * this.heartbeat.liveness;
    this.nonIdempotent = new Set(
      (options.nonIdempotentServices ?? DEFAULT_NON_IDEMPOTENT_SERVICES).map((s) =>
        s.toLowerCase(),
      ),
    );
    this.log = (options.logger ?? silentLogger).child({ component: "broker", broker: this.name });
    if (options.peering) {
      this.ownRegion = options.peering.region.toLowerCase();
      this.peerTable = new PeerTable(
        options.peering.peers.map((p) => p.name),
        this.peerExpiryMs,
      );
      for (const peer of options.peering.peers)
        this.peerInflight.set(peer.name.toLowerCase(), new Set());
    }
    this.noisy = new RateLimitedLog(this.log);
  }

  /** The endpoints actually bound (wildcard ports resolved). */
  get endpoints(): {
    frontend: string;
    backend: string;
    cloud?: string;
    state?: string;
    events?: string;
  } {
    return { ...this.bound };
  }

  /** Binds both sockets and starts the loops and timers. Idempotent. */
  async start(): Promise<void> {
    if (this.state !== "idle") return;
    this.state = "running";
    this.startedAt = Date.now();
    const limits = this.options.limits ?? {};
    this.frontend = createRouter(limits, this.options.curve ?? {});
    this.backend = createRouter(limits, this.options.curve ?? {});
    try {
      this.bound.frontend = await bindSocket(this.frontend, this.options.frontend);
      this.bound.backend = await bindSocket(this.backend, this.options.backend);
    } catch (err) {
      this.frontend.close();
      this.backend.close();
      this.state = "stopped";
      throw err;
    }
    this.loops.push(this.frontendLoop(this.frontend), this.backendLoop(this.backend));
    if (this.options.peering) await this.startPeering(this.options.peering);
    const hb = setInterval(() => this.onHeartbeatTick(), this.heartbeat.intervalMs);
    // Fine enough that a deadline or the unknown-service bound is kept to within a few ms.
    const sweep = setInterval(
      () => this.sweepDeadlines(),
      Math.max(10, Math.min(100, this.heartbeat.intervalMs / 4, this.unknownServiceMs / 4)),
    );
    hb.unref();
    sweep.unref();
    this.timers.push(hb, sweep);
    this.log.info({ endpoints: this.bound, heartbeat: this.heartbeat }, "broker started");
  }

  /**
   * Stops taking new work (new requests get 503 SHUTTING_DOWN), waits for queued and in-flight
   * requests up to `drainMs`, answers what is left with 503, tells workers to DISCONNECT and
   * closes the sockets. Idempotent.
   */
  stop(drainMs = 5000): Promise<void> {
    this.stopping ??= this.doStop(drainMs);
    return this.stopping;
  }

  private async doStop(drainMs: number): Promise<void> {
    if (this.state === "idle") {
      this.state = "stopped";
      return;
    }
    this.state = "draining";
    this.log.info({ pending: this.pending.size, drainMs }, "broker draining");
    if (this.pending.size > 0 && drainMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const p of [...this.pending.values()]) {
      this.fail(p, "SHUTTING_DOWN", "broker is shutting down");
    }
    for (const w of this.workers.values())
      this.toWorker(w, encodeWorkerDisconnect(w.dialect, "broker shutting down"));
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.workerBatches.flush();
    this.clientBatches.flush();
    // Let queued sends leave before closing (linger is 0).
    await new Promise((r) => setTimeout(r, 20));
    this.frontend?.close();
    this.backend?.close();
    this.cloudfe?.close();
    this.cloudbe?.close();
    this.statebe?.close();
    this.statefe?.close();
    this.eventsPub?.close();
    await Promise.allSettled(this.loops);
    this.state = "stopped";
    this.log.info({ counters: this.counters }, "broker stopped");
  }

  /** A snapshot of workers, services, queues and counters. */
  status(): BrokerStatus {
    const now = Date.now();
    return {
      name: this.name,
      state: this.state,
      endpoints: this.endpoints,
      heartbeat: this.heartbeat,
      workers: [...this.workers.values()].map((w) => ({
        id: w.id,
        dialect: w.dialect,
        services: w.services,
        credit: w.credit,
        inflight: w.inflight.size,
        draining: w.draining,
        lastSeenMsAgo: now - w.lastSeen,
      })),
      services: [...this.services.values()].map((s) => ({
        name: s.name,
        workers: s.workers.length,
        queued: s.queue.size,
        inflight: s.workers.reduce(
          (n, w) => n + [...w.inflight.values()].filter((p) => p.service === s.name).length,
          0,
        ),
        freeCredit: s.workers.reduce(
          (n, w) => n + (w.draining ? 0 : Math.max(0, w.credit - w.inflight.size)),
          0,
        ),
      })),
      freeCapacity: this.freeCapacity(),
      pending: this.pending.size,
      clients: this.sessions.size,
      counters: { ...this.counters },
      ...(this.sequencer
        ? { events: { ...this.sequencer.counters, lastSeq: this.sequencer.lastSeq } }
        : {}),
      ...(this.peerTable
        ? {
            peers: this.peerTable.list().map((p) => ({
              name: p.name,
              alive: p.alive,
              capacity: p.capacity,
              ageMs: p.heardAt ? now - p.heardAt : null,
              inflight: this.peerInflight.get(p.name.toLowerCase())?.size ?? 0,
            })),
          }
        : {}),
    };
  }

  /** Free worker slots over all workers that are not draining. */
  freeCapacity(): number {
    let free = 0;
    for (const w of this.workers.values())
      if (!w.draining) free += Math.max(0, w.credit - w.inflight.size);
    return free;
  }

  // --- frontend -------------------------------------------------------------------------------

  private frontendLoop(socket: zmq.Router): Promise<void> {
    return receiveLoop(socket, "frontend", this.log, (msg) => this.onFrontend(msg));
  }

  private onFrontend(msg: Buffer[]): void {
    const identity = msg[0];
    if (!identity) return;
    const messages = unbatch(msg, 1, GMPC01);
    if (!Array.isArray(messages)) {
      this.onClientMessage(identity, messages, msg.length - 1);
      return;
    }
    for (const frames of messages)
      this.onClientMessage(identity, parseFrontend(frames), frames.length);
    if (messages.length === 1) return;
    // A client that sends BATCH reads them: what one turn answers it goes out as one message.
    const session = this.sessions.get(identity.toString("latin1"));
    if (session) session.batch = true;
  }

  /** One message from a client (`frames`: how many it had after the identity). */
  private onClientMessage(identity: Buffer, parsed: FrontendMessage, frames: number): void {
    const now = Date.now();
    switch (parsed.kind) {
      case "malformed":
        this.counters.malformedFrontend += 1;
        this.noisy.warn({ reason: parsed.reason, frames }, "dropped malformed client message");
        return;
      case "bad-request": {
        this.counters.badRequests += 1;
        const err = new GeomeshError("BAD_REQUEST", parsed.reason);
        this.toFrontend(
          identity,
          encodeGmpClientReply(parsed.requestId, true, err.status, [
            Buffer.from(JSON.stringify(err.toWire())),
          ]),
        );
        return;
      }
      case "heartbeat": {
        const session = this.sessions.get(identity.toString("latin1"));
        if (session) session.lastSeen = now;
        this.toClient(session, identity, encodeGmpClientHeartbeat(true));
        return;
      }
      case "cancel": {
        const session = this.sessions.get(identity.toString("latin1"));
        if (!session) return;
        session.lastSeen = now;
        const p = session.requests.get(parsed.requestId);
        if (p) {
          this.counters.cancelled += 1;
          this.abandon(p);
        }
        return;
      }
      case "request":
        this.onRequest(identity, parsed, now);
        return;
    }
  }

  private onRequest(identity: Buffer, req: ClientRequest, now: number): void {
    this.counters.requests += 1;
    let session: ClientSession | undefined;
    if (req.dialect === "gmp") {
      const sid = identity.toString("latin1");
      session = this.sessions.get(sid);
      if (!session) {
        session = { id: sid, identity, requests: new Map(), lastSeen: now, batch: false };
        this.sessions.set(sid, session);
      }
      session.lastSeen = now;
      if (session.requests.has(req.requestId)) {
        this.counters.badRequests += 1;
        const err = new GeomeshError(
          "BAD_REQUEST",
          `request id "${req.requestId}" is already in use`,
        );
        this.toFrontend(
          identity,
          encodeGmpClientReply(req.requestId, true, err.status, [
            Buffer.from(JSON.stringify(err.toWire())),
          ]),
        );
        return;
      }
    }
    const flags =
      req.dialect === "gmp"
        ? req.flags
        : this.nonIdempotent.has(req.service) || this.nonIdempotent.has(baseService(req.service))
          ? 0
          : Flag.IDEMPOTENT;
    const p = this.newPending(
      {
        kind: "client",
        identity,
        session,
        dialect: req.dialect,
        requestId: req.requestId,
        serviceRaw: req.serviceRaw,
      },
      { ...req, flags },
      now,
    );
    if (req.service.startsWith(MMI_PREFIX) || req.service === BROKER_STATUS_SERVICE) {
      this.answerInternal(p);
      return;
    }
    if (this.publishInternal(p)) return;
    if (this.state !== "running") {
      this.reply(p, true, 503, [
        errorBody(new GeomeshError("SHUTTING_DOWN", "broker is shutting down")),
      ]);
      return;
    }
    this.pending.set(p.key, p);
    session?.requests.set(req.requestId, p);
    this.route(p);
  }

  /**
   * Where a request runs. `service@REGION` for another region goes to that region's broker
   * (one ownership hop) while it is alive; everything else runs here — on a local worker, or
   * overflowed once to the live peer with the most free capacity.
   */
  private route(p: Pending): void {
    const table = this.peerTable;
    if (table && p.origin.kind === "client" && (p.flags & Flag.OVERFLOWED) === 0) {
      const at = p.service.lastIndexOf("@");
      const target = at >= 0 ? p.service.slice(at + 1) : undefined;
      if (target !== undefined && target !== this.ownRegion && table.get(target) !== undefined) {
        if (table.isAlive(target)) {
          this.counters.forwarded += 1;
          this.sendToPeer(p, target, false);
          return;
        }
        // The owner is down: its region is served here while a worker here or a live peer's
        // serves it. When none does (one store per region), say so at once — once peers have had
        // a full liveness period to announce themselves since this broker started.
        const localWorkers = this.services.get(p.service)?.workers.length ?? 0;
        if (
          localWorkers === 0 &&
          Date.now() - this.startedAt > this.peerExpiryMs &&
          !table.anyServes(target)
        ) {
          this.failUnserved(p);
          return;
        }
      }
    }
    this.dispatch(p);
  }

  /** A request record with a fresh key and its deadline (the request's timeout, else the default). */
  private newPending(
    origin: ClientOrigin | PeerOrigin,
    req: Pick<ClientRequest, "service" | "flags" | "traceId" | "body" | "timeoutMs">,
    now: number,
  ): Pending {
    return {
      key: (this.seq++).toString(36),
      origin,
      service: req.service,
      flags: req.flags,
      traceId: req.traceId,
      body: req.body,
      received: now,
      deadline: now + (req.timeoutMs || this.defaultTimeoutMs),
      queued: false,
      worker: undefined,
      peer: undefined,
      done: false,
      held: undefined,
      streamed: false,
    };
  }

  /**
   * `broker.publish@REGION` and `broker.outbox@REGION`: answered here when REGION is ours; left
   * to `route` (the ownership hop) when it is a live peer's and the request came from a client;
   * otherwise refused — an event is never published by a broker that does not own its region.
   */
  private publishInternal(p: Pending): boolean {
    const prefix = p.service.startsWith(BROKER_PUBLISH_PREFIX)
      ? BROKER_PUBLISH_PREFIX
      : p.service.startsWith(BROKER_OUTBOX_PREFIX)
        ? BROKER_OUTBOX_PREFIX
        : undefined;
    if (prefix === undefined) return false;
    const target = p.service.slice(prefix.length);
    const answer = (status: number, body: GeomeshError | string) =>
      this.reply(p, true, status, [typeof body === "string" ? Buffer.from(body) : errorBody(body)]);
    if (target === this.ownRegion && this.sequencer) {
      const number = (frame: Buffer | undefined) => {
        const n = frame && frame.length <= 20 ? Number(frame.toString("latin1")) : NaN;
        return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
      };
      if (prefix === BROKER_OUTBOX_PREFIX) {
        const head = number(p.body[0]);
        if (head === undefined || p.body.length !== 1) {
          this.counters.badRequests += 1;
          answer(400, new GeomeshError("BAD_REQUEST", "outbox takes one [head] body frame"));
          return true;
        }
        this.sequencer.adopt(head);
        answer(200, JSON.stringify({ last: this.sequencer.lastSeq }));
        return true;
      }
      // [seq, event]… pairs in seq order, then, on a re-send from the outbox, the seq of the change
      // before the first (the rest follow each other there): one request for a whole write.
      const { body } = p;
      const pairs = body.length >> 1;
      const after = body.length % 2 === 1 ? number(body[body.length - 1]) : undefined;
      let ok =
        pairs >= 1 &&
        pairs <= MAX_PUBLISH_EVENTS &&
        (body.length % 2 === 0 || (after !== undefined && body.length >= 3));
      for (let i = 0, prev = after ?? 0; ok && i < pairs; i += 1) {
        const seq = number(body[2 * i]);
        ok = seq !== undefined && seq >= 1 && seq > prev;
        prev = seq ?? prev;
      }
      if (!ok) {
        this.counters.badRequests += 1;
        answer(
          400,
          new GeomeshError(
            "BAD_REQUEST",
            `publish takes [seq, event] pairs (1..${MAX_PUBLISH_EVENTS}, seq ascending), then [after] on a re-send`,
          ),
        );
        return true;
      }
      for (let i = 0; i < pairs; i += 1) {
        const seq = number(body[2 * i])!;
        const chained = i === 0 ? after : after === undefined ? undefined : number(body[2 * i - 2]);
        this.sequencer.push(seq, body[2 * i + 1]!, chained);
      }
      answer(200, "{}");
      return true;
    }
    const peer = this.peerTable?.get(target);
    if (peer && p.origin.kind === "client" && this.peerTable?.isAlive(target)) return false;
    answer(
      503,
      new GeomeshError(
        peer ? "PEER_LOST" : "REGION_NOT_FOUND",
        peer
          ? `region ${target}'s broker is not reachable; ${prefix === BROKER_PUBLISH_PREFIX ? "the event is not published" : "its outbox position is unknown"}`
          : `no events socket for region ${JSON.stringify(target.slice(0, 40))} here`,
      ),
    );
    return true;
  }

  /** Publishes on the events socket: `[topic, kind, seq, body?]`. */
  private publishEvent(kind: "event" | "sync" | "tick", seq: number, body?: Buffer): void {
    const socket = this.eventsPub;
    if (!socket || socket.closed) return;
    const frames: (string | Buffer)[] = [this.eventsTopic, kind, String(seq)];
    if (body) frames.push(body);
    try {
      sendNow(socket, frames, this.onEventsSendError);
    } catch (err) {
      // A send that throws must not stop the sequencer mid-drain: the event is dropped (a gap).
      this.onEventsSendError(err as Error);
    }
  }

  /** XPUB: a gateway subscribed to our topic: tell it where the sequence stands (its start mark). */
  private async eventsSubscriptionLoop(socket: zmq.XPublisher): Promise<void> {
    try {
      for await (const [msg] of socket) {
        if (!msg || msg[0] !== 1) continue;
        const topic = msg.subarray(1).toString("latin1");
        if (topic === "" || this.eventsTopic.startsWith(topic))
          this.publishEvent("sync", this.sequencer?.lastSeq ?? 0);
      }
    } catch (err) {
      if (!socket.closed) this.log.warn({ err }, "events subscription loop ended");
    }
  }

  /** 8/MMI and the broker's own status service. */
  private answerInternal(p: Pending): void {
    let body: string;
    if (p.service === "mmi.service") {
      const name = (p.body[0]?.toString("latin1") ?? "").toLowerCase();
      const svc = this.services.get(name);
      body = svc && svc.workers.length > 0 ? "200" : "404";
    } else if (p.service === BROKER_STATUS_SERVICE) {
      body = JSON.stringify(this.status());
    } else {
      body = "501";
    }
    this.reply(p, true, 200, [Buffer.from(body)]);
  }

  private dispatch(p: Pending): void {
    const svc = this.serviceEntry(p.service);
    const worker = this.pickWorker(svc);
    if (worker) {
      this.assign(worker, p);
      return;
    }
    const peer = this.overflowTarget(p);
    if (peer) {
      this.counters.overflowOut += 1;
      this.sendToPeer(p, peer, true);
      return;
    }
    if (svc.queue.full) {
      this.counters.queueFull += 1;
      this.fail(p, "QUEUE_FULL", `service ${p.service} queue is full (${this.queueLimit})`, {
        retryAfterMs: this.heartbeat.intervalMs,
      });
      return;
    }
    svc.queue.push(p);
  }

  private serviceEntry(name: string): ServiceEntry {
    let svc = this.services.get(name);
    if (!svc) {
      svc = {
        name,
        queue: new ServiceQueue<Pending>(this.queueLimit, this.onQueueChange),
        workers: [],
        next: 0,
      };
      this.services.set(name, svc);
    }
    return svc;
  }

  /** Round-robin over the service's workers that have free credit. */
  private pickWorker(svc: ServiceEntry): WorkerEntry | undefined {
    const n = svc.workers.length;
    for (let i = 0; i < n; i++) {
      const idx = (svc.next + i) % n;
      const w = svc.workers[idx]!;
      if (!w.draining && w.inflight.size < w.credit) {
        svc.next = (idx + 1) % n;
        return w;
      }
    }
    return undefined;
  }

  private assign(worker: WorkerEntry, p: Pending): void {
    const now = Date.now();
    const remaining = p.deadline - now;
    if (remaining <= 0) {
      // Expired requests are never dispatched.
      this.counters.deadlineExpired += 1;
      this.fail(p, "DEADLINE_EXCEEDED", "deadline passed before a worker was free");
      return;
    }
    p.worker = worker;
    worker.inflight.set(p.key, p);
    this.capacityChanged();
    const canStream = p.origin.dialect === "gmp" && (p.flags & Flag.STREAM) !== 0;
    const flags = canStream ? p.flags : p.flags & ~Flag.STREAM;
    this.toWorker(
      worker,
      worker.dialect === "mdp"
        ? encodeMdpWorkerRequest(p.key, p.body)
        : encodeWorkerRequest(p.key, p.service, remaining, flags, p.traceId, p.body),
    );
  }

  // --- backend --------------------------------------------------------------------------------

  private backendLoop(socket: zmq.Router): Promise<void> {
    return receiveLoop(socket, "backend", this.log, (msg) => this.onBackend(msg));
  }

  private onBackend(msg: Buffer[]): void {
    const identity = msg[0];
    if (!identity) return;
    const messages = unbatch(msg, 1);
    if (!Array.isArray(messages)) {
      this.onWorkerMessage(identity, msg.slice(1), messages);
      return;
    }
    for (const frames of messages) this.onWorkerMessage(identity, frames);
  }

  /** One message from a worker (`frames` after the identity; `parsed` when already known). */
  private onWorkerMessage(
    identity: Buffer,
    frames: Buffer[],
    parsed: BackendMessage = parseBackend(frames),
  ): void {
    const id = identity.toString("latin1");
    const worker = this.workers.get(id);
    const now = Date.now();
    if (worker) worker.lastSeen = now;
    switch (parsed.kind) {
      case "malformed":
        this.counters.malformedBackend += 1;
        this.noisy.warn(
          { reason: parsed.reason, worker: worker ? hex(identity) : undefined },
          "dropped malformed worker message",
        );
        if (worker) {
          // A worker that sends garbage is disconnected; its requests go elsewhere.
          this.counters.workersDisconnected += 1;
          this.toWorker(
            worker,
            encodeWorkerDisconnect(worker.dialect, `malformed message: ${parsed.reason}`),
          );
          this.removeWorker(worker, "sent a malformed message");
        }
        return;
      case "ready":
        if (worker) {
          // READY twice is a protocol error (7/MDP): disconnect.
          this.counters.workersDisconnected += 1;
          this.toWorker(worker, encodeWorkerDisconnect(worker.dialect, "already registered"));
          this.removeWorker(worker, "registered twice");
          return;
        }
        if (this.state !== "running") {
          this.toBackend(
            identity,
            encodeWorkerDisconnect(parsed.dialect, "broker is shutting down"),
          );
          return;
        }
        this.addWorker(identity, id, parsed, now);
        return;
      case "heartbeat":
        if (!worker)
          this.toBackend(
            identity,
            encodeWorkerDisconnect(
              frames[1]?.toString("latin1") === "MDPW01" ? "mdp" : "gmp",
              "unknown worker",
            ),
          );
        return;
      case "reply":
        if (!worker) {
          this.counters.lateReplies += 1;
          this.toBackend(identity, encodeWorkerDisconnect(parsed.dialect, "unknown worker"));
          return;
        }
        this.onWorkerReply(worker, parsed.key, parsed.final, parsed.status, parsed.body);
        return;
      case "down":
        if (worker) {
          worker.draining = true;
          this.servedCache = undefined;
          if (worker.inflight.size === 0) this.removeWorker(worker, "DOWN");
        }
        return;
      case "disconnect":
        if (worker) this.removeWorker(worker, "worker disconnected");
        return;
    }
  }

  private addWorker(
    identity: Buffer,
    id: string,
    { dialect, services, credit, batch }: BackendMessage & { kind: "ready" },
    now: number,
  ): void {
    const worker: WorkerEntry = {
      id,
      identity,
      dialect,
      services: [...new Set(services)],
      credit,
      batch,
      inflight: new Map(),
      lastSeen: now,
      draining: false,
    };
    this.workers.set(id, worker);
    this.servedCache = undefined;
    for (const name of worker.services) this.serviceEntry(name).workers.push(worker);
    if (dialect === "gmp")
      this.toWorker(
        worker,
        encodeWorkerUpAck(this.heartbeat.intervalMs, this.heartbeat.liveness, true),
      );
    this.log.info(
      { worker: hex(identity), dialect, services: worker.services, credit },
      "worker registered",
    );
    this.capacityChanged();
    this.feed(worker);
  }

  private onWorkerReply(
    worker: WorkerEntry,
    key: string,
    final: boolean,
    status: number,
    body: Buffer[],
  ): void {
    const p = worker.inflight.get(key);
    if (!p) {
      this.counters.lateReplies += 1;
      return;
    }
    if (final) {
      worker.inflight.delete(key);
      this.capacityChanged();
      if (!p.done) this.reply(p, true, status, body);
      this.forget(p);
      if (worker.draining && worker.inflight.size === 0)
        this.removeWorker(worker, "drained after DOWN");
      else this.feed(worker);
    } else if (!p.done) {
      this.reply(p, false, status, body);
    }
  }

  /** Gives a worker queued requests while it has credit, oldest service queue first. */
  private feed(worker: WorkerEntry): void {
    if (this.queuedTotal() === 0) return;
    while (!worker.draining && worker.inflight.size < worker.credit) {
      let best: ServiceEntry | undefined;
      let bestAge = Infinity;
      for (const name of worker.services) {
        const svc = this.services.get(name);
        const head = svc ? firstLive(svc.queue) : undefined;
        if (svc && head && head.received < bestAge) {
          best = svc;
          bestAge = head.received;
        }
      }
      const next = best?.queue.shift();
      if (!next) return;
      this.assign(worker, next);
    }
  }

  private removeWorker(worker: WorkerEntry, reason: string): void {
    if (this.workers.get(worker.id) !== worker) return;
    this.workers.delete(worker.id);
    this.servedCache = undefined;
    for (const name of worker.services) {
      const svc = this.services.get(name);
      if (!svc) continue;
      const idx = svc.workers.indexOf(worker);
      if (idx >= 0) svc.workers.splice(idx, 1);
      if (svc.next >= svc.workers.length) svc.next = 0;
    }
    this.capacityChanged();
    const orphans = [...worker.inflight.values()];
    worker.inflight.clear();
    this.log.warn(
      { worker: hex(worker.identity), reason, inflight: orphans.length },
      "worker removed",
    );
    const now = Date.now();
    for (const p of orphans.reverse()) {
      p.worker = undefined;
      if (p.done) {
        this.forget(p);
      } else if (
        (p.flags & Flag.IDEMPOTENT) !== 0 &&
        p.deadline > now &&
        p.held === undefined &&
        !p.streamed
      ) {
        this.counters.redispatched += 1;
        this.serviceEntry(p.service).queue.unshift(p);
      } else {
        this.counters.workerLost += 1;
        this.fail(
          p,
          "WORKER_LOST",
          `the worker running ${p.service} was lost; the request may or may not have been applied`,
        );
      }
    }
    // Re-dispatch to any worker with room.
    for (const w of this.workers.values()) this.feed(w);
    this.checkDrained();
  }

  // --- timers ---------------------------------------------------------------------------------

  private onHeartbeatTick(): void {
    const now = Date.now();
    // The events heartbeat: gateways learn the last seq (a gap after a lost last event) and liveness.
    if (this.sequencer) this.publishEvent("tick", this.sequencer.lastSeq);
    if (this.peerTable) {
      for (const dead of this.peerTable.expire(now))
        this.onPeerDead(dead.name, "silent on the state flow");
      this.publishState();
    }
    const expiry = this.heartbeat.intervalMs * this.heartbeat.liveness;
    for (const w of [...this.workers.values()]) {
      if (now - w.lastSeen > expiry) {
        this.counters.workersExpired += 1;
        this.removeWorker(w, `silent for ${now - w.lastSeen} ms`);
      } else {
        this.toWorker(w, encodeWorkerHeartbeat(w.dialect));
      }
    }
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastSeen <= expiry) continue;
      if (s.requests.size > 0) {
        this.counters.clientsExpired += 1;
        this.log.info({ requests: s.requests.size }, "client went silent; cancelling its requests");
        for (const p of [...s.requests.values()]) this.abandon(p);
      }
      this.sessions.delete(s.id);
    }
  }

  private sweepDeadlines(): void {
    const now = Date.now();
    this.sequencer?.tick(now);
    for (const p of this.pending.values()) {
      if (p.done) continue;
      if (now >= p.deadline) {
        this.counters.deadlineExpired += 1;
        this.fail(p, "DEADLINE_EXCEEDED", `no reply from ${p.service} before the deadline`);
      } else if (p.queued && now - p.received >= this.unknownServiceMs) {
        const svc = this.services.get(p.service);
        if (svc && svc.workers.length === 0) this.failUnserved(p);
      }
    }
  }

  /**
   * Nobody here offers the service and no live peer took it: `service@REGION` of a peer region
   * whose broker is down is that region being unavailable (503); anything else is unknown (404).
   */
  private failUnserved(p: Pending): void {
    const region = regionOf(p.service);
    const peer = region === undefined ? undefined : this.peerTable?.get(region);
    if (peer && region !== this.ownRegion && !this.peerTable?.isAlive(region!)) {
      // A live peer serving the region may still take it from the queue: wait for the deadline.
      if (this.peerTable?.anyServes(region!)) return;
      this.counters.regionUnavailable += 1;
      this.fail(
        p,
        "REGION_UNAVAILABLE",
        `region ${peer.name}'s broker is not reachable and no worker here serves ${p.service}`,
        { unavailable: [peer.name] },
      );
      return;
    }
    this.counters.serviceNotFound += 1;
    this.fail(p, "SERVICE_NOT_FOUND", `no worker offers service "${p.service}"`);
  }

  // --- replies --------------------------------------------------------------------------------

  /** Answers with an error, and releases the request (a running worker is told to cancel). */
  private fail(p: Pending, code: ErrorCode, message: string, data?: Record<string, unknown>): void {
    if (p.done) return;
    const err = new GeomeshError(code, message, data ? { data } : {});
    this.reply(p, true, err.status, [errorBody(err)]);
  }

  /** The requester is gone or cancelled: no answer, release its queue slot, cancel the worker. */
  private abandon(p: Pending): void {
    if (p.done) return;
    p.done = true;
    this.release(p);
  }

  private reply(p: Pending, final: boolean, status: number, body: Buffer[]): void {
    const o = p.origin;
    if (o.kind === "peer") {
      if (!final) p.streamed = true;
      this.toCloudFrontend(o.identity, encodeGmpClientReply(o.requestId, final, status, body));
      if (final) {
        this.counters.replies += 1;
        p.done = true;
        this.release(p);
      }
      return;
    }
    if (!final) {
      if (o.dialect === "mdp") {
        (p.held ??= []).push(...body);
        return;
      }
      p.streamed = true;
      this.toClient(o.session, o.identity, encodeGmpClientReply(o.requestId, false, status, body));
      return;
    }
    if (o.dialect === "mdp") {
      this.toFrontend(
        o.identity,
        encodeMdpClientReply(o.serviceRaw, p.held ? [...p.held, ...body] : body),
      );
    } else {
      this.toClient(o.session, o.identity, encodeGmpClientReply(o.requestId, true, status, body));
    }
    this.counters.replies += 1;
    p.done = true;
    this.release(p);
  }

  /** After the requester's answer: drop queue slot; tell a still-running worker to stop. */
  private release(p: Pending): void {
    if (p.queued) this.serviceEntry(p.service).queue.remove(p);
    p.origin.session?.requests.delete(p.origin.requestId);
    if (p.peer !== undefined) {
      // Answered here (deadline, cancel) while a peer runs it: tell the peer to stop.
      const peer = p.peer;
      this.peerInflight.get(peer)?.delete(p);
      p.peer = undefined;
      this.toCloudBackend(peer, encodeGmpClientCancel(p.key));
      this.forget(p);
      return;
    }
    const w = p.worker;
    if (w && w.inflight.get(p.key) === p) {
      // Keep the slot until the worker's FINAL: its capacity is really in use until then.
      if (w.dialect === "gmp") this.toWorker(w, encodeWorkerCancel(p.key));
      return;
    }
    this.forget(p);
  }

  private forget(p: Pending): void {
    this.pending.delete(p.key);
    p.origin.session?.requests.delete(p.origin.requestId);
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.drained && this.pending.size === 0) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }

  // --- peering ---------------------------------------------------------------------------------

  private async startPeering(peering: PeeringOptions): Promise<void> {
    const limits = this.options.limits ?? {};
    const curve = this.options.curve ?? {};
    this.cloudfe = createRouter(limits, curve, peering.region);
    // immediate: a peer whose connection is not up has no pipe, so ROUTER_MANDATORY reports
    // sends to it (EHOSTUNREACH) instead of queueing them for a peer that may never come.
    this.cloudbe = createRouter(limits, peering.curve ?? {}, peering.region, { immediate: true });
    this.statebe = new zmq.Publisher({
      ...curve,
      linger: 0,
      sendTimeout: 0,
      sendHighWaterMark: 1000,
    });
    this.statefe = new zmq.Subscriber({
      ...peering.curve,
      linger: 0,
      receiveHighWaterMark: 1000,
      maxMessageSize: 4096,
    });
    this.bound.cloud = await bindSocket(this.cloudfe, peering.cloud);
    this.bound.state = await bindSocket(this.statebe, peering.state);
    if (peering.events) {
      // XPUB, verbose: every gateway's subscription reaches us, so each gets its own sync mark.
      this.eventsPub = new zmq.XPublisher({
        ...curve,
        linger: 0,
        // Never wait to send: a publish either goes at once or is dropped (and counted), and two
        // sends can never overlap ("socket is busy writing").
        sendTimeout: 0,
        sendHighWaterMark: 100_000,
        verbosity: "allSubs",
        maxMessageSize: 4096,
      });
      this.bound.events = await bindSocket(this.eventsPub, peering.events);
      this.eventsTopic = `${peering.region}.`;
      this.sequencer = new EventSequencer<Buffer>(
        (seq, body) => this.publishEvent("event", seq, body),
        {
          holdMs: EVENT_HOLD_MS,
          maxHeld: 10_000,
        },
      );
      this.loops.push(this.eventsSubscriptionLoop(this.eventsPub));
    }
    // ZMQ_CONNECT_ROUTING_ID is set before each connect, as libzmq intends; zeromq.js still
    // warns that an option set after the first connect "will not take effect". Silence that
    // one message while connecting (the warning is emitted synchronously).
    const original = Object.getOwnPropertyDescriptor(process, "emitWarning");
    const emitWarning = process.emitWarning.bind(process) as (
      warning: string | Error,
      ...rest: unknown[]
    ) => void;
    Object.defineProperty(process, "emitWarning", {
      configurable: true,
      writable: true,
      value: (warning: string | Error, ...rest: unknown[]) => {
        if (String(warning).startsWith("Socket option will not take effect")) return;
        emitWarning(warning, ...rest);
      },
    });
    try {
      for (const peer of peering.peers) {
        // The peer's routing id on this link is its region name (ZMQ_CONNECT_ROUTING_ID).
        this.cloudbe.connect(peer.cloud, { routingId: peer.name });
        this.statefe.connect(peer.state);
      }
    } finally {
      if (original) Object.defineProperty(process, "emitWarning", original);
      else Reflect.deleteProperty(process, "emitWarning");
    }
    this.statefe.subscribe();
    this.loops.push(
      this.cloudFrontendLoop(this.cloudfe),
      this.cloudBackendLoop(this.cloudbe),
      this.stateLoop(this.statefe),
    );
    this.publishState();
  }

  /** The peer to overflow a request to: none if it already took its overflow hop. */
  private overflowTarget(p: Pending): string | undefined {
    if (!this.peerTable || this.options.peering?.overflow === false) return undefined;
    if ((p.flags & Flag.OVERFLOWED) !== 0) return undefined;
    return this.peerTable
      .pickMostFree(
        p.origin.kind === "peer" ? p.origin.identity.toString("latin1") : undefined,
        regionOf(p.service),
      )
      ?.name.toLowerCase();
  }

  /** Sends a request over the cloud link: an ownership hop, or an overflow hop (flagged, so it stops there). */
  private sendToPeer(p: Pending, peer: string, overflow: boolean): void {
    const remaining = p.deadline - Date.now();
    if (remaining <= 0) {
      this.counters.deadlineExpired += 1;
      this.fail(p, "DEADLINE_EXCEEDED", "deadline passed before the request could be sent on");
      return;
    }
    p.peer = peer;
    this.peerInflight.get(peer)?.add(p);
    if (overflow) this.peerTable?.consume(peer);
    const flags =
      (p.flags | (overflow ? Flag.OVERFLOWED : 0)) &
      ~(p.origin.dialect === "gmp" ? 0 : Flag.STREAM);
    const frames = encodeGmpRequest({
      requestId: p.key,
      service: p.service,
      timeoutMs: remaining,
      flags,
      traceId: p.traceId,
      body: p.body,
    });
    const socket = this.cloudbe;
    if (!socket) return;
    // Routing ids on the cloud link are the region names exactly as configured.
    frames.unshift(this.peerTable?.get(peer)?.name ?? peer);
    sendNow(socket, frames, (err) => this.onPeerUnroutable(peer, p, err));
  }

  /** ROUTER_MANDATORY told us the peer is not connected: mark it dead and re-route. */
  private onPeerUnroutable(peer: string, p: Pending, err: Error): void {
    this.counters.unroutable += 1;
    this.noisy.warn({ peer, err: err.message }, "peer unroutable");
    if (this.peerTable?.kill(peer)) this.onPeerDead(peer, "unroutable");
    else if (p.peer === peer) this.rescue(p, peer);
  }

  private onPeerDead(peer: string, reason: string): void {
    const key = peer.toLowerCase();
    this.counters.peersDied += 1;
    const inflight = [...(this.peerInflight.get(key) ?? [])];
    this.log.warn({ peer, reason, inflight: inflight.length }, "peer broker dead");
    for (const p of inflight) this.rescue(p, key);
    // Requests that peer sent us have no one to answer to any more.
    for (const p of [...this.pending.values()]) {
      if (p.origin.kind === "peer" && p.origin.identity.toString("latin1").toLowerCase() === key)
        this.abandon(p);
    }
  }

  /** A request lost with its peer: run it again (idempotent, not streamed) or answer 503. */
  private rescue(p: Pending, peer: string): void {
    this.peerInflight.get(peer)?.delete(p);
    p.peer = undefined;
    if (p.done) {
      this.forget(p);
    } else if ((p.flags & Flag.IDEMPOTENT) !== 0 && p.deadline > Date.now() && !p.streamed) {
      this.counters.redispatched += 1;
      this.dispatch(p);
    } else {
      this.counters.peerLost += 1;
      this.fail(
        p,
        "PEER_LOST",
        `the peer broker ${peer} running ${p.service} was lost; the request may or may not have been applied`,
      );
    }
  }

  private cloudFrontendLoop(socket: zmq.Router): Promise<void> {
    return receiveLoop(socket, "cloud frontend", this.log, (msg) => this.onCloudFrontend(msg));
  }

  /** Requests from peers: an ownership hop for this region, or overflow for us to run. */
  private onCloudFrontend(msg: Buffer[]): void {
    const identity = msg[0];
    if (!identity) return;
    const parsed = parseFrontend(msg.slice(1));
    if (parsed.kind === "cancel") {
      for (const p of this.pending.values()) {
        if (
          p.origin.kind === "peer" &&
          p.origin.requestId === parsed.requestId &&
          p.origin.identity.equals(identity)
        ) {
          this.abandon(p);
          break;
        }
      }
      return;
    }
    if (parsed.kind !== "request" || parsed.dialect !== "gmp") {
      this.counters.malformedFrontend += 1;
      this.noisy.warn(
        { peer: identity.toString("latin1"), kind: parsed.kind },
        "dropped malformed peer message",
      );
      return;
    }
    this.counters.requests += 1;
    const now = Date.now();
    if ((parsed.flags & Flag.OVERFLOWED) !== 0) {
      this.counters.overflowIn += 1;
      this.overflowInAt = now;
    }
    const p = this.newPending(
      {
        kind: "peer",
        identity,
        session: undefined,
        dialect: "gmp",
        requestId: parsed.requestId,
        serviceRaw: parsed.serviceRaw,
      },
      parsed,
      now,
    );
    if (this.state !== "running") {
      this.reply(p, true, 503, [
        errorBody(new GeomeshError("SHUTTING_DOWN", "broker is shutting down")),
      ]);
      return;
    }
    if (this.publishInternal(p)) return;
    this.pending.set(p.key, p);
    // Never forwarded again: it runs here, or takes its one overflow hop.
    this.dispatch(p);
  }

  private cloudBackendLoop(socket: zmq.Router): Promise<void> {
    return receiveLoop(socket, "cloud backend", this.log, (msg) => this.onCloudBackend(msg));
  }

  /** Replies from peers to requests we sent them. */
  private onCloudBackend(msg: Buffer[]): void {
    const peer = msg[0]?.toString("latin1").toLowerCase();
    if (!peer) return;
    const parsed = parseBrokerToClient(msg.slice(1));
    if (parsed.kind !== "reply") return;
    const p = this.pending.get(parsed.requestId);
    if (!p || p.peer !== peer) {
      this.counters.lateReplies += 1;
      return;
    }
    if (parsed.final) {
      this.peerInflight.get(peer)?.delete(p);
      p.peer = undefined;
      if (!p.done) this.reply(p, true, parsed.status, parsed.body);
      this.forget(p);
    } else if (!p.done) {
      this.reply(p, false, parsed.status, parsed.body);
    }
  }

  private stateLoop(socket: zmq.Subscriber): Promise<void> {
    return receiveLoop(socket, "state", this.log, (msg) => this.onState(msg));
  }

  /** A peer's state announcement: `[region, free capacity, regions its workers serve]`. */
  private onState([name, capacity, served]: Buffer[]): void {
    const peer = name?.toString("latin1");
    const cap = Number(capacity?.toString("latin1"));
    if (!peer || !Number.isInteger(cap) || cap < 0 || !this.peerTable) return;
    // Without the third frame (an older broker) the peer is taken to serve every region. The
    // list rarely changes while announcements come every event-loop turn: parsed once per change.
    let serves: ReadonlySet<string> | undefined;
    if (served !== undefined) {
      const known = this.servedByPeer.get(peer);
      if (known !== undefined && known.raw.equals(served)) serves = known.set;
      else {
        serves = new Set(splitRegions(served.toString("latin1")));
        this.servedByPeer.set(peer, { raw: Buffer.from(served), set: serves });
      }
    }
    if (this.peerTable.update(peer, cap, Date.now(), serves))
      this.log.info({ peer, capacity: cap }, "peer broker alive");
    if (cap > 0) this.offloadQueues();
  }

  /** Queued requests that may still take their overflow hop go to peers that announced room. */
  private offloadQueues(): void {
    if (this.queuedCount === 0 || !this.peerTable || this.options.peering?.overflow === false)
      return;
    for (const svc of this.services.values()) {
      while (svc.queue.size > 0) {
        const head = firstLive(svc.queue);
        if (!head || (head.flags & Flag.OVERFLOWED) !== 0) break;
        const peer = this.overflowTarget(head);
        if (!peer) break; // none can take this service; another service's head may still go
        svc.queue.shift();
        this.counters.overflowOut += 1;
        this.sendToPeer(head, peer, true);
      }
    }
  }

  /**
   * Free capacity changed: announce it once the current burst of events is handled (one message
   * per event-loop turn, not per request) — when a peer can act on it. That is when the number
   * crosses 0 (peers stop or start overflowing here), or while some peer is overflowing here
   * (within liveness × interval of the last overflowed request: it decrements its view of us on
   * every overflow it sends, and only our announcement restores it; the same number is then sent
   * again too). Other changes wait for the heartbeat's exact
   * number: each announcement wakes every peer, and on a loaded machine those wake-ups cost more
   * than the requests. With no live peer there is nobody to tell but the periodic heartbeat.
   */
  private capacityChanged(): void {
    if (!this.statebe || this.publishScheduled || !this.peerTable?.anyAlive()) return;
    this.publishScheduled = true;
    setImmediate(() => {
      this.publishScheduled = false;
      const free = this.freeCapacity();
      const crossed = (free === 0) !== (this.announced === 0);
      const watched =
        Date.now() - this.overflowInAt <= this.heartbeat.intervalMs * this.heartbeat.liveness;
      if (crossed || watched) this.publishState(free);
      else this.counters.statesDeferred += 1;
    });
  }

  /** The free capacity last announced (undefined before the first announcement). */
  private announced: number | undefined;
  /** When a peer last overflowed a request here (ms epoch). */
  private overflowInAt = -Infinity;

  /** Requests waiting in all service queues (kept by the queues themselves). */
  private queuedTotal(): number {
    return this.queuedCount;
  }

  private queuedCount = 0;
  /** Per peer: its last served-regions frame and the set parsed from it. */
  private readonly servedByPeer = new Map<string, { raw: Buffer; set: ReadonlySet<string> }>();

  private readonly onQueueChange = (delta: number): void => {
    this.queuedCount += delta;
  };

  /**
   * statebe: `[region, free capacity, served regions]`, on change and every interval (the peer
   * heartbeat). Served regions are the `@REGION` suffixes of the services local workers offer,
   * so a peer overflows `service@R` only to brokers whose workers can run R's leaves (in the
   * one-store-per-region deployment, none but R's own).
   */
  private publishState(free = this.freeCapacity()): void {
    const socket = this.statebe;
    const region = this.options.peering?.region;
    if (!socket || socket.closed || !region) return;
    this.announced = free;
    this.counters.statesSent += 1;
    sendNow(socket, [region, String(free), this.servedRegions()], this.onStateSendError);
  }

  private servedCache: string | undefined;

  /** Comma-separated lower-cased regions whose leaf services some local worker offers. */
  private servedRegions(): string {
    if (this.servedCache === undefined) {
      const regions = new Set<string>();
      for (const w of this.workers.values()) {
        if (w.draining) continue;
        for (const name of w.services) {
          const r = regionOf(name);
          if (r !== undefined) regions.add(r);
        }
      }
      this.servedCache = [...regions].sort().join(",");
    }
    return this.servedCache;
  }

  private toCloudFrontend(identity: Buffer, frames: OutFrame[]): void {
    const socket = this.cloudfe;
    if (!socket) return;
    frames.unshift(identity);
    sendNow(socket, frames, this.onCloudSendError);
  }

  private toCloudBackend(peer: string, frames: OutFrame[]): void {
    const socket = this.cloudbe;
    if (!socket) return;
    frames.unshift(this.peerTable?.get(peer)?.name ?? peer);
    sendNow(socket, frames, this.onCloudSendError);
  }

  private readonly onCloudSendError = (err: Error): void => this.onSendError("cloud", err);
  private readonly onEventsSendError = (err: Error): void => this.onSendError("events", err);
  private readonly onStateSendError = (): void => undefined; // the next announcement follows soon

  private readonly onFrontendSendError = (err: Error): void => this.onSendError("frontend", err);
  private readonly onBackendSendError = (err: Error): void => this.onSendError("backend", err);

  /** What one turn answers each BATCH-reading client, sent at the turn's end. */
  private readonly clientBatches = new SendBatcher<Buffer>(GMPC01, (identity, frames) =>
    this.toFrontend(identity, frames),
  );

  /** To a GMP client: through its batch queue once it sent a BATCH, else at once. */
  private toClient(session: ClientSession | undefined, identity: Buffer, frames: OutFrame[]): void {
    if (session?.batch) this.clientBatches.push(session.id, identity, frames);
    else this.toFrontend(identity, frames);
  }

  private toFrontend(identity: Buffer, frames: OutFrame[]): void {
    const socket = this.frontend;
    if (!socket) return;
    frames.unshift(identity);
    sendNow(socket, frames, this.onFrontendSendError);
  }

  private toBackend(identity: Buffer, frames: OutFrame[]): void {
    const socket = this.backend;
    if (!socket) return;
    frames.unshift(identity);
    sendNow(socket, frames, this.onBackendSendError);
  }

  /** What one turn sends to each BATCH-reading worker, sent at the turn's end. */
  private readonly workerBatches = new SendBatcher<Buffer>(GMPW01, (identity, frames) =>
    this.toBackend(identity, frames),
  );

  private toWorker(worker: WorkerEntry, frames: OutFrame[]): void {
    if (worker.batch) this.workerBatches.push(worker.id, worker.identity, frames);
    else this.toBackend(worker.identity, frames);
  }

  private onSendError(socket: string, err: Error): void {
    this.counters.sendFailures += 1;
    this.noisy.warn(
      { socket, code: (err as { code?: string }).code, err: err.message },
      "send failed (peer gone or queue full)",
    );
  }
}

function errorBody(err: GeomeshError): Buffer {
  return Buffer.from(JSON.stringify(err.toWire()));
}

/** The region of a region-qualified service (`geo.near@ne` → `ne`), lower-cased. */
function regionOf(service: string): string | undefined {
  const at = service.lastIndexOf("@");
  return at >= 0 ? service.slice(at + 1).toLowerCase() : undefined;
}

function splitRegions(list: string): string[] {
  return list
    .split(",")
    .map((r) => r.trim().toLowerCase())
    .filter((r) => r.length > 0);
}

function hex(identity: Buffer): string {
  return identity.toString("hex");
}

function firstLive(queue: ServiceQueue<Pending>): Pending | undefined {
  for (const p of queue.values()) return p;
  return undefined;
}
