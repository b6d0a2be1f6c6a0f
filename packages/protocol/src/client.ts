import { GeomeshError } from "@geomesh/errors";
import { type Logger, RateLimitedLog, silentLogger } from "@geomesh/logger";
import type * as zmq from "zeromq";
import { SendBatcher, type SendErrorHandler } from "./batch.js";
import {
  encodeGmpClientCancel,
  encodeGmpRequest,
  type BrokerToClient,
  parseBrokerToClient,
  unbatch,
} from "./codec.js";
import type { OutFrame } from "./codec.js";
import { Flag, GMPC01, Limits, Verb } from "./frames.js";
import { DEFAULT_HEARTBEAT, type HeartbeatOptions, isIdempotentService } from "./heartbeat.js";
import {
  type CurveOptions,
  DEFAULT_MAX_MESSAGE_BYTES,
  type SocketLimits,
  createDealer,
  receiveLoop,
  sendNow,
} from "./sockets.js";

/** One reply part: PARTIALs while streaming, then the FINAL. */
export interface Reply {
  readonly status: number;
  readonly body: Buffer[];
  readonly final: boolean;
}

export interface RequestOptions {
  /** Deadline relative to now; the broker answers 504 when it passes (default 30 s). */
  readonly timeoutMs?: number;
  /** Safe to run twice. Defaults by service: reads yes, `place.upsert`/`place.delete` no. */
  readonly idempotent?: boolean;
  /** Aborting cancels the request at the broker and its worker. */
  readonly signal?: AbortSignal;
  /** Trace id for logs end to end (≤ 64 printable ASCII). */
  readonly traceId?: string;
  /** Extra flag bits (peering marks overflowed requests). */
  readonly flags?: number;
}

export interface ClientOptions {
  /** Broker frontend endpoint. */
  readonly endpoint: string;
  readonly heartbeat?: Partial<HeartbeatOptions>;
  readonly defaultTimeoutMs?: number;
  readonly limits?: SocketLimits;
  readonly curve?: CurveOptions;
  readonly logger?: Logger;
  /**
   * Send what one event-loop turn sends as one BATCH once the broker says it reads them (default
   * true): the client asks with a heartbeat when it connects (docs/protocol.md).
   */
  readonly batch?: boolean;
}

interface Sink {
  onPart(part: Reply): void;
  onError(err: GeomeshError): void;
}

interface Outstanding {
  readonly id: string;
  readonly frames: OutFrame[];
  readonly idempotent: boolean;
  readonly sink: Sink;
  /** Local give-up time: the deadline plus a grace for the broker's own 504 to arrive. */
  readonly giveUpAt: number;
  readonly timeoutMs: number;
  streamed: boolean;
  cleanup: (() => void) | undefined;
}

/** Collects a non-streamed reply: PARTIAL bodies (if any) are prepended to the FINAL. */
class WholeReply implements Sink {
  private parts: Buffer[] | undefined;

  constructor(
    private readonly resolve: (r: Reply) => void,
    readonly onError: (err: GeomeshError) => void,
  ) {}

  onPart(part: Reply): void {
    if (!part.final) (this.parts ??= []).push(...part.body);
    else this.resolve(this.parts ? { ...part, body: [...this.parts, ...part.body] } : part);
  }
}

/**
 * A GMP client over one DEALER: many outstanding requests, streamed replies, deadlines,
 * cancel, heartbeats while requests are active, and a fresh connection when the broker goes
 * silent (idempotent requests are re-sent; others fail with BROKER_UNAVAILABLE).
 */
export class Client {
  private readonly heartbeat: HeartbeatOptions;
  private readonly defaultTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly log: Logger;
  private readonly noisy: RateLimitedLog;
  private readonly outstanding = new Map<string, Outstanding>();
  private socket: zmq.Dealer | undefined;
  private loop: Promise<void> | undefined;
  private hbTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private seq = 0;
  private closed = false;
  /** `options.batch`: send BATCH once the broker says it reads them. */
  private readonly offersBatch: boolean;
  /** The broker's heartbeat answer said it reads BATCH from this connection. */
  private batching = false;
  /** Requests (and cancels) of one turn, sent at its end as one message (while `batching`). */
  private readonly batches = new SendBatcher<undefined>(GMPC01, (_, frames, onErrors) => {
    const socket = this.socket;
    if (socket)
      sendNow(socket, frames, (err) => {
        for (const onError of onErrors) onError(err);
      });
  });
  private readonly prefix = Math.random().toString(36).slice(2, 6);

  constructor(private readonly options: ClientOptions) {
    this.heartbeat = { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    this.offersBatch = options.batch !== false;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.maxBytes = options.limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.log = (options.logger ?? silentLogger).child({
      component: "client",
      endpoint: options.endpoint,
    });
    this.noisy = new RateLimitedLog(this.log);
  }

  /** Replies that matched no outstanding request (a duplicate, or one after a local timeout). */
  readonly counters = { unexpectedReplies: 0, reconnects: 0 };

  /** Requests waiting for their FINAL. */
  get pending(): number {
    return this.outstanding.size;
  }

  /** Sends one request and resolves with its FINAL reply (any status; PARTIAL bodies are prepended). */
  request(
    service: string,
    body: Buffer | string | readonly Buffer[],
    options: RequestOptions = {},
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) =>
      this.send(service, body, options, false, new WholeReply(resolve, reject)),
    );
  }

  /** Sends one request and yields each PARTIAL, then the FINAL. Breaking out cancels it. */
  async *stream(
    service: string,
    body: Buffer | string | readonly Buffer[],
    options: RequestOptions = {},
  ): AsyncGenerator<Reply, void, undefined> {
    const queue: Reply[] = [];
    let failure: GeomeshError | undefined;
    let wake: (() => void) | undefined;
    let finished = false;
    const controller = new AbortController();
    const signal = options.signal
      ? AbortSignal.any([options.signal, controller.signal])
      : controller.signal;
    this.send(service, body, { ...options, signal }, true, {
      onPart: (part) => {
        queue.push(part);
        wake?.();
      },
      onError: (err) => {
        failure = err;
        wake?.();
      },
    });
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          if (next.final) {
            finished = true;
            return;
          }
          continue;
        }
        if (failure) throw failure;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      if (!finished && !failure)
        controller.abort(new GeomeshError("CANCELLED", "stream closed by the consumer"));
    }
  }

  /** Fails every outstanding request with SHUTTING_DOWN and closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.hbTimer);
    clearInterval(this.sweepTimer);
    for (const o of [...this.outstanding.values()])
      this.settle(o, new GeomeshError("SHUTTING_DOWN", "client closed"));
    this.batches.clear();
    this.socket?.close();
    await this.loop;
  }

  private ensureSocket(): zmq.Dealer {
    if (this.socket) return this.socket;
    const socket = createDealer(this.options.limits ?? {}, this.options.curve ?? {});
    socket.connect(this.options.endpoint);
    this.socket = socket;
    this.batching = false;
    this.loop = this.receiveLoop(socket);
    // Its answer tells whether this broker reads BATCH.
    if (this.offersBatch) sendNow(socket, [`${GMPC01} ${Verb.HEARTBEAT}`], this.ignoreSendError);
    this.hbTimer ??= setInterval(() => this.onHeartbeatTick(), this.heartbeat.intervalMs);
    this.hbTimer.unref();
    this.sweepTimer ??= setInterval(() => this.sweepDeadlines(), 50);
    this.sweepTimer.unref();
    return socket;
  }

  private send(
    service: string,
    body: Buffer | string | readonly Buffer[],
    options: RequestOptions,
    stream: boolean,
    cb: Sink,
  ): void {
    if (this.closed) return cb.onError(new GeomeshError("SHUTTING_DOWN", "client closed"));
    if (options.signal?.aborted)
      return cb.onError(new GeomeshError("CANCELLED", "aborted before sending"));
    const bodyFrames =
      typeof body === "string" ? [Buffer.from(body)] : Buffer.isBuffer(body) ? [body] : [...body];
    const size = bodyFrames.reduce((n, b) => n + b.length, 0);
    if (size > this.maxBytes - 1024) {
      return cb.onError(
        new GeomeshError(
          "LIMIT_EXCEEDED",
          `request body is ${size} bytes; the limit is ${this.maxBytes - 1024}`,
        ),
      );
    }
    if (!/^[\x21-\x7e]{1,128}$/.test(service))
      return cb.onError(
        new GeomeshError("BAD_REQUEST", "service name must be 1-128 printable ASCII characters"),
      );
    const traceId = options.traceId ?? "";
    if (traceId.length > Limits.maxTraceIdBytes || !/^[\x20-\x7e]*$/.test(traceId)) {
      return cb.onError(
        new GeomeshError("BAD_REQUEST", "trace id must be ≤ 64 printable ASCII characters"),
      );
    }
    const timeoutMs = Math.max(
      1,
      Math.min(options.timeoutMs ?? this.defaultTimeoutMs, Limits.maxTimeoutMs),
    );
    const idempotent = options.idempotent ?? isIdempotentService(service);
    const flags =
      (options.flags ?? 0) | (idempotent ? Flag.IDEMPOTENT : 0) | (stream ? Flag.STREAM : 0);
    const id = `${this.prefix}${(this.seq++).toString(36)}`;
    const frames = encodeGmpRequest({
      requestId: id,
      service,
      timeoutMs,
      flags,
      traceId,
      body: bodyFrames,
    });
    // The broker answers 504 at the deadline; the local timer is the fallback when it cannot.
    const grace = Math.min(2000, Math.max(100, timeoutMs * 0.1));
    const o: Outstanding = {
      id,
      frames,
      idempotent,
      sink: cb,
      giveUpAt: Date.now() + timeoutMs + grace,
      timeoutMs,
      streamed: false,
      cleanup: undefined,
    };
    const signal = options.signal;
    if (signal) {
      const onAbort = () => {
        this.cancelAtBroker(id);
        this.settle(o, new GeomeshError("CANCELLED", "the request was cancelled"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      o.cleanup = () => signal.removeEventListener("abort", onAbort);
    }
    if (this.outstanding.size === 0) this.lastHeard = Date.now();
    this.outstanding.set(id, o);
    this.write(frames, o);
  }

  private readonly ignoreSendError = (): void => undefined;

  private write(frames: OutFrame[], o?: Outstanding): void {
    const socket = this.ensureSocket();
    const onError: SendErrorHandler = o
      ? (err) =>
          this.settle(
            o,
            new GeomeshError(
              "BROKER_UNAVAILABLE",
              `cannot queue the request to ${this.options.endpoint}: ${err.message}`,
            ),
          )
      : this.ignoreSendError;
    if (this.batching) this.batches.push("broker", undefined, frames, onError);
    else sendNow(socket, frames, onError);
  }

  private cancelAtBroker(id: string): void {
    if (this.socket && this.outstanding.has(id)) this.write(encodeGmpClientCancel(id));
  }

  private settle(o: Outstanding, err?: GeomeshError): void {
    if (this.outstanding.get(o.id) !== o) return;
    this.outstanding.delete(o.id);
    o.cleanup?.();
    if (err) o.sink.onError(err);
  }

  private receiveLoop(socket: zmq.Dealer): Promise<void> {
    return receiveLoop(
      socket,
      "client receive",
      this.log,
      (msg) => this.onMessage(msg),
      () => socket !== this.socket,
    );
  }

  private onMessage(msg: Buffer[]): void {
    this.lastHeard = Date.now();
    const messages = unbatch(msg, 0, GMPC01);
    if (!Array.isArray(messages)) this.onBrokerMessage(messages);
    else for (const frames of messages) this.onBrokerMessage(parseBrokerToClient(frames));
  }

  private onBrokerMessage(parsed: BrokerToClient): void {
    if (parsed.kind === "malformed") {
      this.noisy.warn({ reason: parsed.reason }, "dropped malformed broker message");
      return;
    }
    if (parsed.kind === "heartbeat") {
      if (parsed.batch && this.offersBatch) this.batching = true;
      return;
    }
    const o = this.outstanding.get(parsed.requestId);
    if (!o) {
      // A reply for a request already settled (answered twice, or after a local timeout).
      this.counters.unexpectedReplies += 1;
      return;
    }
    if (parsed.final) this.settle(o);
    else o.streamed = true;
    o.sink.onPart({ status: parsed.status, body: parsed.body, final: parsed.final });
  }

  /** Gives up on requests whose broker never answered (not even its own 504). */
  private sweepDeadlines(): void {
    const now = Date.now();
    for (const o of this.outstanding.values()) {
      if (now < o.giveUpAt) continue;
      this.cancelAtBroker(o.id);
      this.settle(
        o,
        new GeomeshError("TIMEOUT", `no reply from the broker within ${o.timeoutMs} ms`),
      );
    }
  }

  private onHeartbeatTick(): void {
    if (this.closed || this.outstanding.size === 0 || !this.socket) return;
    const silent = Date.now() - this.lastHeard;
    if (silent > this.heartbeat.intervalMs * this.heartbeat.liveness) {
      this.reconnect(silent);
      return;
    }
    this.write([`${GMPC01} ${Verb.HEARTBEAT}`]);
  }

  /** The broker went silent: new socket; re-send what is safe to re-send, fail the rest. */
  private reconnect(silentMs: number): void {
    this.log.warn({ silentMs, outstanding: this.outstanding.size }, "broker silent; reconnecting");
    this.counters.reconnects += 1;
    // Not yet sent: the idempotent ones go again below, the rest fail.
    this.batches.clear();
    this.socket?.close();
    this.socket = undefined;
    this.lastHeard = Date.now();
    for (const o of [...this.outstanding.values()]) {
      if (o.idempotent && !o.streamed) this.write(o.frames, o);
      else
        this.settle(
          o,
          new GeomeshError(
            "BROKER_UNAVAILABLE",
            "connection to the broker was lost; the request may or may not have been applied",
          ),
        );
    }
  }
}
