import { GeomeshError, isGeomeshError } from "@geomesh/errors";
import { type Logger, RateLimitedLog, silentLogger } from "@geomesh/logger";
import type * as zmq from "zeromq";
import {
  encodeWorkerReply,
  encodeWorkerUp,
  encodeWorkerVerb,
  type BrokerToWorker,
  parseBrokerToWorker,
  type OutFrame,
  unbatch,
} from "./codec.js";
import { SendBatcher } from "./batch.js";
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from "./heartbeat.js";
import { Flag, GMPW01, Verb } from "./frames.js";
import {
  type CurveOptions,
  type SocketLimits,
  createDealer,
  receiveLoop,
  sendNow,
} from "./sockets.js";

/** One request as a handler sees it. */
export interface WorkerRequest {
  /** Lower-cased service name. */
  readonly service: string;
  /** Body frames (7/MDP and GMP bodies may have several; JSON services use the first). */
  readonly body: Buffer[];
  /** Aborted when the client cancels or goes away, the deadline passes, or the worker stops. */
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch). */
  readonly deadline: number;
  readonly traceId: string;
  readonly idempotent: boolean;
  /** The requester accepts PARTIAL replies. When false, `partial()` bodies are sent with the FINAL. */
  readonly canStream: boolean;
  /** Sends a PARTIAL reply (status 200). */
  partial(body: ReplyBody): void;
}

export type ReplyBody = Buffer | string | readonly Buffer[];

/** What a handler returns: a body (status 200) or an explicit status and body. */
export type HandlerResult = ReplyBody | { readonly status: number; readonly body: ReplyBody };

export type Handler = (req: WorkerRequest) => HandlerResult | Promise<HandlerResult>;

export interface ReconnectOptions {
  /** First delay before reconnecting (default 1000 ms); doubles up to `maxMs`. */
  readonly initialMs: number;
  /** Cap of the backoff (default 32000 ms). */
  readonly maxMs: number;
}

export interface WorkerOptions {
  /** Broker backend endpoint to connect to. */
  readonly endpoint: string;
  /** Handlers by service name (case-insensitive). */
  readonly services: ReadonlyMap<string, Handler> | Readonly<Record<string, Handler>>;
  /** Requests this worker runs at once; declared to the broker as credit (default 1). */
  readonly concurrency?: number;
  /** Used until the broker's UP reply dictates its own. */
  readonly heartbeat?: Partial<HeartbeatOptions>;
  readonly reconnect?: Partial<ReconnectOptions>;
  readonly limits?: SocketLimits;
  readonly curve?: CurveOptions;
  readonly logger?: Logger;
  /**
   * Offer BATCH to the broker (default true): what one event-loop turn sends goes out as one
   * message, and the broker may send its requests likewise (docs/protocol.md).
   */
  readonly batch?: boolean;
}

export interface WorkerCounters {
  handled: number;
  failed: number;
  cancelled: number;
  reconnects: number;
  malformed: number;
}

type ReplySink = (
  session: number,
  key: string,
  status: number,
  frames: Buffer[],
  final: boolean,
) => void;

/**
 * One request being handled. The AbortController is created only when a handler reads
 * `signal` (most fast handlers never do), and deadlines are enforced by a periodic sweep, so
 * the hot path allocates no timer and no controller per request.
 */
class RunningRequest implements WorkerRequest {
  held: Buffer[] | undefined;
  private controller: AbortController | undefined;
  private reason: GeomeshError | undefined;

  constructor(
    private readonly sink: ReplySink,
    readonly session: number,
    readonly key: string,
    readonly service: string,
    readonly body: Buffer[],
    readonly deadline: number,
    readonly traceId: string,
    private readonly flags: number,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): GeomeshError | undefined {
    return this.reason;
  }

  get idempotent(): boolean {
    return (this.flags & Flag.IDEMPOTENT) !== 0;
  }

  get canStream(): boolean {
    return (this.flags & Flag.STREAM) !== 0;
  }

  abort(reason: GeomeshError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  partial(body: ReplyBody): void {
    if (this.reason) return;
    if (this.canStream) this.sink(this.session, this.key, 200, toFrames(body), false);
    else (this.held ??= []).push(...toFrames(body));
  }
}

/**
 * A GMP worker: registers its services with UP and a concurrency credit, runs requests with an
 * AbortSignal, heartbeats with the interval the broker dictates, and reconnects with
 * exponential backoff (1 s doubling to 32 s by default) when the broker goes silent.
 */
export class Worker {
  readonly counters: WorkerCounters = {
    handled: 0,
    failed: 0,
    cancelled: 0,
    reconnects: 0,
    malformed: 0,
  };
  private readonly handlers = new Map<string, Handler>();
  private readonly concurrency: number;
  private readonly reconnectOpts: ReconnectOptions;
  private readonly log: Logger;
  private readonly noisy: RateLimitedLog;
  private heartbeat: HeartbeatOptions;
  private socket: zmq.Dealer | undefined;
  private session = 0;
  private lastHeard = 0;
  private registered = false;
  /** `options.batch`: offer BATCH to the broker. */
  private readonly offersBatch: boolean;
  /** The broker's UP reply said it reads BATCH from this connection. */
  private batching = false;
  /** Replies of one turn, sent at its end as one message (while `batching`). */
  private readonly batches = new SendBatcher<undefined>(GMPW01, (_, frames) => {
    const socket = this.socket;
    if (socket) sendNow(socket, frames, this.onSendError);
  });
  private backoff: number;
  private hbTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly running = new Map<string, RunningRequest>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sink: ReplySink = (session, key, status, frames, final) =>
    this.reply(session, key, status, frames, final);
  private readonly onSendError = (err: Error): void =>
    this.noisy.warn({ err: err.message }, "send to broker failed");
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private stopping: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.offersBatch = options.batch !== false;
    const entries: [string, Handler][] =
      options.services instanceof Map
        ? [...(options.services as ReadonlyMap<string, Handler>).entries()]
        : Object.entries(options.services as Readonly<Record<string, Handler>>);
    for (const [name, handler] of entries) this.handlers.set(name.toLowerCase(), handler);
    if (this.handlers.size === 0)
      throw new GeomeshError("CONFIG_INVALID", "a worker needs at least one service");
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.heartbeat = { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    this.reconnectOpts = { initialMs: 1000, maxMs: 32_000, ...options.reconnect };
    this.backoff = this.reconnectOpts.initialMs;
    this.log = (options.logger ?? silentLogger).child({ component: "worker" });
    this.noisy = new RateLimitedLog(this.log);
  }

  /** True once the broker has acknowledged UP on the current connection. */
  get connected(): boolean {
    return this.registered;
  }

  /** Delay before the next reconnect attempt: 1 s doubling to 32 s by default, reset by UP. */
  get nextBackoffMs(): number {
    return this.backoff;
  }

  /** Requests running now. */
  get inflight(): number {
    return this.running.size;
  }

  /** Connects and registers. Idempotent; does not wait for the broker to answer. */
  start(): void {
    if (this.state !== "idle") return;
    this.state = "running";
    this.sweepTimer = setInterval(() => this.sweepDeadlines(), 50);
    this.sweepTimer.unref();
    this.connect();
  }

  private sweepDeadlines(): void {
    const now = Date.now();
    for (const r of this.running.values()) {
      if (now >= r.deadline) r.abort(new GeomeshError("DEADLINE_EXCEEDED", "deadline passed"));
    }
  }

  /** Resolves once the broker has acknowledged UP (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.registered) {
      if (Date.now() > until)
        throw new GeomeshError(
          "BROKER_UNAVAILABLE",
          `broker at ${this.options.endpoint} did not acknowledge UP`,
        );
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Leaves gracefully: DOWN (the broker sends no more work), waits for running requests up to
   * `drainMs`, aborts the rest, closes the socket. Idempotent.
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
    this.state = "stopping";
    if (this.socket && this.registered) this.send(encodeWorkerVerb(Verb.DOWN));
    if (this.running.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const r of this.running.values())
      r.abort(new GeomeshError("SHUTTING_DOWN", "worker is shutting down"));
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(this.hbTimer);
    clearInterval(this.sweepTimer);
    clearTimeout(this.reconnectTimer);
    this.batches.flush();
    this.socket?.close();
    await this.loop;
    this.state = "stopped";
    this.log.info({ counters: this.counters }, "worker stopped");
  }

  private connect(): void {
    if (this.state !== "running") return;
    this.session += 1;
    const socket = createDealer(this.options.limits ?? {}, this.options.curve ?? {});
    socket.connect(this.options.endpoint);
    this.socket = socket;
    this.registered = false;
    this.batching = false;
    this.lastHeard = Date.now();
    this.send(encodeWorkerUp(this.concurrency, [...this.handlers.keys()], this.offersBatch));
    this.loop = this.receiveLoop(socket);
    this.restartHeartbeat();
    this.log.debug({ endpoint: this.options.endpoint, session: this.session }, "worker connecting");
  }

  private restartHeartbeat(): void {
    clearInterval(this.hbTimer);
    this.hbTimer = setInterval(() => this.onHeartbeatTick(), this.heartbeat.intervalMs);
    this.hbTimer.unref();
  }

  private onHeartbeatTick(): void {
    if (this.state !== "running" && this.state !== "stopping") return;
    const silent = Date.now() - this.lastHeard;
    if (silent > this.heartbeat.intervalMs * this.heartbeat.liveness) {
      this.reconnect(`broker silent for ${silent} ms`);
      return;
    }
    this.send(encodeWorkerVerb(Verb.HEARTBEAT));
  }

  /** Drops the connection and tries again after the current backoff, which then doubles. */
  private reconnect(reason: string): void {
    if (this.state !== "running") return;
    this.counters.reconnects += 1;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.reconnectOpts.maxMs);
    this.log.warn({ reason, delayMs: delay, running: this.running.size }, "reconnecting to broker");
    clearInterval(this.hbTimer);
    this.hbTimer = undefined;
    // Requests of the old connection cannot be answered on a new one.
    for (const r of this.running.values())
      r.abort(new GeomeshError("BROKER_UNAVAILABLE", "connection to the broker was lost"));
    this.registered = false;
    // What was queued for the old connection is not for the next one.
    this.batching = false;
    this.batches.clear();
    this.socket?.close();
    this.socket = undefined;
    clearTimeout(this.reconnectTimer);
    // Not unref'd: a worker waiting to reconnect must keep its process alive.
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private receiveLoop(socket: zmq.Dealer): Promise<void> {
    return receiveLoop(
      socket,
      "worker receive",
      this.log,
      (msg) => this.onMessage(msg),
      () => socket !== this.socket,
    );
  }

  private onMessage(msg: Buffer[]): void {
    const messages = unbatch(msg);
    if (!Array.isArray(messages)) this.onBrokerMessage(messages);
    else for (const frames of messages) this.onBrokerMessage(parseBrokerToWorker(frames));
  }

  private onBrokerMessage(parsed: BrokerToWorker): void {
    this.lastHeard = Date.now();
    switch (parsed.kind) {
      case "malformed":
        this.counters.malformed += 1;
        this.noisy.warn({ reason: parsed.reason }, "dropped malformed broker message");
        return;
      case "up":
        this.registered = true;
        this.batching = parsed.batch && this.offersBatch;
        this.backoff = this.reconnectOpts.initialMs;
        if (
          parsed.intervalMs !== this.heartbeat.intervalMs ||
          parsed.liveness !== this.heartbeat.liveness
        ) {
          this.heartbeat = { intervalMs: parsed.intervalMs, liveness: parsed.liveness };
          this.restartHeartbeat();
        }
        this.log.info(
          {
            endpoint: this.options.endpoint,
            heartbeat: this.heartbeat,
            concurrency: this.concurrency,
          },
          "worker registered",
        );
        return;
      case "heartbeat":
        return;
      case "disconnect":
        this.reconnect(`broker sent DISCONNECT${parsed.reason ? `: ${parsed.reason}` : ""}`);
        return;
      case "cancel": {
        const r = this.running.get(parsed.key);
        if (r) {
          this.counters.cancelled += 1;
          r.abort(new GeomeshError("CANCELLED", "the client cancelled the request or went away"));
        }
        return;
      }
      case "request":
        this.run(
          parsed.key,
          parsed.service,
          parsed.timeoutMs,
          parsed.flags,
          parsed.traceId,
          parsed.body,
        );
        return;
    }
  }

  private run(
    key: string,
    service: string,
    timeoutMs: number,
    flags: number,
    traceId: string,
    body: Buffer[],
  ): void {
    const handler = this.handlers.get(service);
    if (!handler) {
      this.reply(
        this.session,
        key,
        404,
        errorFrames(
          new GeomeshError("SERVICE_NOT_FOUND", `this worker does not serve "${service}"`),
        ),
        true,
      );
      return;
    }
    const req = new RunningRequest(
      this.sink,
      this.session,
      key,
      service,
      body,
      Date.now() + timeoutMs,
      traceId,
      flags,
    );
    this.running.set(key, req);
    let result: HandlerResult | Promise<HandlerResult>;
    try {
      result = handler(req);
    } catch (err) {
      this.finish(req, this.failure(err, req));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.finish(req, success(value)),
        (err: unknown) => this.finish(req, this.failure(err, req)),
      );
    } else {
      this.finish(req, success(result));
    }
  }

  private finish(req: RunningRequest, [status, frames]: [number, Buffer[]]): void {
    this.running.delete(req.key);
    this.reply(
      req.session,
      req.key,
      status,
      req.held && status === 200 ? [...req.held, ...frames] : frames,
      true,
    );
    if (this.running.size === 0 && this.idleWaiters.length > 0)
      for (const w of this.idleWaiters.splice(0)) w();
  }

  private failure(err: unknown, req: RunningRequest): [number, Buffer[]] {
    const aborted = req.aborted;
    if (aborted) {
      this.counters.cancelled += 1;
      return [aborted.status, errorFrames(aborted)];
    }
    this.counters.failed += 1;
    if (isGeomeshError(err)) return [err.status, errorFrames(err)];
    this.log.error({ err, service: req.service }, "handler failed");
    return [500, errorFrames(new GeomeshError("INTERNAL", "internal error"))];
  }

  private reply(
    session: number,
    key: string,
    status: number,
    frames: Buffer[],
    final: boolean,
  ): void {
    // A reply for a request of an earlier connection would reach a broker that never sent it.
    if (session !== this.session || !this.socket) return;
    if (final) this.counters.handled += 1;
    this.send(encodeWorkerReply(key, final, status, frames));
  }

  private send(frames: OutFrame[]): void {
    const socket = this.socket;
    if (!socket) return;
    if (this.batching) this.batches.push("broker", undefined, frames);
    else sendNow(socket, frames, this.onSendError);
  }
}

function toFrames(body: ReplyBody): Buffer[] {
  if (typeof body === "string") return [Buffer.from(body)];
  if (Buffer.isBuffer(body)) return [body];
  return [...body];
}

function success(value: HandlerResult): [number, Buffer[]] {
  if (
    typeof value === "object" &&
    !Buffer.isBuffer(value) &&
    !Array.isArray(value) &&
    "status" in value
  ) {
    return [value.status, toFrames(value.body)];
  }
  return [200, toFrames(value as ReplyBody)];
}

function errorFrames(err: GeomeshError): Buffer[] {
  return [Buffer.from(JSON.stringify(err.toWire()))];
}
