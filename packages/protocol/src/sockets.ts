import type { Logger } from "@geomesh/logger";
import * as zmq from "zeromq";

/** Socket limits applied to every geomesh socket so a hostile peer cannot exhaust memory. */
export interface SocketLimits {
  /** Largest inbound message in bytes; libzmq drops the connection of a peer that exceeds it. */
  readonly maxMessageBytes?: number;
  /** Per-peer queue bound in messages, both directions. */
  readonly highWaterMark?: number;
}

/** CURVE settings for one socket (filled in by the security module). */
export interface CurveOptions {
  readonly curveServer?: boolean;
  readonly curvePublicKey?: string;
  readonly curveSecretKey?: string;
  readonly curveServerKey?: string;
  readonly zapDomain?: string;
  /** Refuse CURVE clients when no ZAP handler answers (libzmq otherwise lets everyone in). */
  readonly zapEnforceDomain?: boolean;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HWM = 10_000;

function baseOptions(limits: SocketLimits): {
  maxMessageSize: number;
  sendHighWaterMark: number;
  receiveHighWaterMark: number;
  linger: number;
} {
  const hwm = limits.highWaterMark ?? DEFAULT_HWM;
  return {
    maxMessageSize: limits.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    sendHighWaterMark: hwm,
    receiveHighWaterMark: hwm,
    linger: 0,
  };
}

/**
 * A ROUTER for a broker's bound sockets: sends never block (`sendTimeout` 0), unroutable sends
 * fail loudly (`mandatory`), and a peer reconnecting with the same identity takes over (`handover`).
 */
export function createRouter(
  limits: SocketLimits = {},
  curve: CurveOptions = {},
  routingId?: string,
  extra: { immediate?: boolean } = {},
): zmq.Router {
  return new zmq.Router({
    ...baseOptions(limits),
    ...curve,
    ...extra,
    mandatory: true,
    handover: true,
    sendTimeout: 0,
    ...(routingId === undefined ? {} : { routingId }),
  });
}

/** A DEALER for clients and workers; sends fail at once when the queue to the broker is full. */
export function createDealer(limits: SocketLimits = {}, curve: CurveOptions = {}): zmq.Dealer {
  return new zmq.Dealer({ ...baseOptions(limits), ...curve, sendTimeout: 0 });
}

/**
 * Queues a message without awaiting. Sockets here are created with `sendTimeout` 0, so a send
 * resolves or fails at once; failures go to `onError` (counted and logged by the caller) instead
 * of becoming unhandled rejections.
 */
export function sendNow(
  socket: zmq.Writable & zmq.Socket,
  frames: (Buffer | string)[],
  onError: (err: Error) => void,
): void {
  if (socket.closed) {
    onError(new Error("socket closed"));
    return;
  }
  socket.send(frames).catch(onError);
}

/** Binds and returns the concrete endpoint (resolves `tcp://127.0.0.1:*` to the chosen port). */
export async function bindSocket(socket: zmq.Socket, endpoint: string): Promise<string> {
  // A just-closed socket's listener is released asynchronously by libzmq (and a restarted
  // process may race the old one's exit): retry "address in use" for up to ~2 s.
  for (let attempt = 0; ; attempt++) {
    try {
      await socket.bind(endpoint);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== "EADDRINUSE" || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const bound = socket.lastEndpoint;
  if (!bound) return endpoint;
  // libzmq reports wildcard binds as tcp://0.0.0.0:port; keep the host the caller asked for.
  const m = /^tcp:\/\/([^:]+|\[[^\]]+\]):(\d+|\*)$/.exec(endpoint);
  const port = /:(\d+)$/.exec(bound)?.[1];
  if (m && port && m[1] !== "*" && m[1] !== "0.0.0.0") return `tcp://${m[1]}:${port}`;
  return bound;
}

/**
 * Reads a socket until it is closed, handing each message to `onMessage`. A handler that throws
 * is logged and the loop goes on (one bad message must not stop a broker); `replaced()` returning
 * true ends the loop early (the connection was swapped for a new one).
 */
export async function receiveLoop(
  socket: zmq.Socket & { [Symbol.asyncIterator](): AsyncIterator<Buffer[], undefined> },
  what: string,
  log: Logger,
  onMessage: (msg: Buffer[]) => void,
  replaced: () => boolean = () => false,
): Promise<void> {
  try {
    for await (const msg of socket) {
      if (replaced()) break;
      try {
        onMessage(msg);
      } catch (err) {
        log.error({ err }, `${what} handler failed`);
      }
    }
  } catch (err) {
    if (!socket.closed) log.error({ err }, `${what} loop ended`);
  }
}
