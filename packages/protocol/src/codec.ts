import {
  EMPTY,
  Flag,
  GMPC01,
  GMPW01,
  Limits,
  MDPC01,
  MDPW01,
  MdpCommand,
  Verb,
  frame,
} from "./frames.js";
import { MAX_BATCH_MESSAGES, unpackMessages } from "./batch.js";

/**
 * Parsers and encoders for every message on the broker's frontend and backend. Parsers take
 * untrusted frames and never throw: they return `{ kind: "malformed", reason }` instead.
 */

export interface Malformed {
  readonly kind: "malformed";
  readonly reason: string;
}

const malformed = (reason: string): Malformed => ({ kind: "malformed", reason });

/** A request as the broker sees it, whichever dialect carried it. */
export interface ClientRequest {
  readonly kind: "request";
  readonly dialect: "mdp" | "gmp";
  /** Client-chosen id (GMP); empty for 7/MDP. */
  readonly requestId: string;
  /** Lower-cased service name. */
  readonly service: string;
  /** Service name as the client spelled it (echoed in 7/MDP replies). */
  readonly serviceRaw: Buffer;
  /** Relative timeout in ms; 0 = broker default. */
  readonly timeoutMs: number;
  readonly flags: number;
  readonly traceId: string;
  readonly body: Buffer[];
}

export type FrontendMessage =
  | ClientRequest
  | { readonly kind: "heartbeat" }
  | { readonly kind: "cancel"; readonly requestId: string }
  | { readonly kind: "bad-request"; readonly requestId: string; readonly reason: string }
  | Malformed;

const isAsciiPrintable = (buf: Buffer): boolean => {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
};

/** Decodes a non-negative decimal integer frame (no sign, no spaces), or undefined. */
export function parseUint(buf: Buffer | undefined, max: number): number | undefined {
  if (!buf || buf.length === 0 || buf.length > 10) return undefined;
  let n = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n <= max ? n : undefined;
}

function serviceName(buf: Buffer | undefined): { name: string; raw: Buffer } | undefined {
  if (!buf || buf.length === 0 || buf.length > Limits.maxServiceBytes || !isAsciiPrintable(buf))
    return undefined;
  return { name: buf.toString("latin1").toLowerCase(), raw: buf };
}

function shortId(buf: Buffer | undefined, max: number, allowEmpty: boolean): string | undefined {
  if (!buf || buf.length > max || (!allowEmpty && buf.length === 0) || !isAsciiPrintable(buf))
    return undefined;
  return buf.toString("latin1");
}

/**
 * Splits a GMP command frame `"<HEADER> <VERB> <arg>..."` into upper-cased verb and args, or
 * undefined when it is not printable ASCII words for the expected header.
 */
export function splitCommand(
  buf: Buffer,
  header: string,
): { verb: string; args: string[] } | undefined {
  if (
    buf.length < header.length + 2 ||
    buf.length > Limits.maxCommandBytes ||
    !isAsciiPrintable(buf)
  )
    return undefined;
  const parts = buf.toString("latin1").split(" ");
  if (parts[0] !== header || parts.length < 2) return undefined;
  return { verb: parts[1]!.toUpperCase(), args: parts.slice(2) };
}

const TOKEN = /^[\x21-\x7e]+$/;

/** Decodes a non-negative decimal integer token, or undefined. */
function uintToken(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

function tokenOf(text: string | undefined, max: number): string | undefined {
  return text !== undefined && text.length <= max && TOKEN.test(text) ? text : undefined;
}

/** Trace ids travel as "-" when absent. */
const traceOut = (traceId: string): string => (traceId === "" ? "-" : traceId);
const traceIn = (token: string): string => (token === "-" ? "" : token);

/**
 * Parses a frontend message after the ROUTER identity frame.
 * 7/MDP: `["", "MDPC01", service, body...]`.
 * GMP:   `["GMPC01 <VERB> <args>", body...]` (see docs/protocol.md).
 */
export function parseFrontend(frames: readonly Buffer[]): FrontendMessage {
  const first = frames[0];
  if (!first) return malformed("no frames");
  if (first.length === 0) {
    if (frames.length < 3) return malformed("too few frames");
    if (frames[1]!.toString("latin1") !== MDPC01) return malformed("unknown protocol header");
    const svc = serviceName(frames[2]);
    if (!svc) return malformed("bad or missing service name");
    return {
      kind: "request",
      dialect: "mdp",
      requestId: "",
      service: svc.name,
      serviceRaw: svc.raw,
      timeoutMs: 0,
      flags: 0,
      traceId: "",
      body: frames.slice(3),
    };
  }
  const cmd = splitCommand(first, GMPC01);
  if (!cmd) return malformed("unknown protocol header");
  const a = cmd.args;
  switch (cmd.verb) {
    case Verb.REQUEST: {
      const requestId = tokenOf(a[0], Limits.maxRequestIdBytes);
      if (requestId === undefined) return malformed("bad or missing request id");
      if (a.length !== 5)
        return {
          kind: "bad-request",
          requestId,
          reason: "REQUEST needs: request-id service timeout-ms flags trace-id",
        };
      const service = tokenOf(a[1], Limits.maxServiceBytes);
      if (service === undefined)
        return { kind: "bad-request", requestId, reason: "bad service name" };
      const timeoutMs = uintToken(a[2], Limits.maxTimeoutMs);
      if (timeoutMs === undefined)
        return {
          kind: "bad-request",
          requestId,
          reason: `timeout must be 0..${Limits.maxTimeoutMs} ms in decimal`,
        };
      const flags = uintToken(a[3], 255);
      if (flags === undefined)
        return { kind: "bad-request", requestId, reason: "flags must be 0..255 in decimal" };
      const trace = tokenOf(a[4], Limits.maxTraceIdBytes);
      if (trace === undefined) return { kind: "bad-request", requestId, reason: "bad trace id" };
      return {
        kind: "request",
        dialect: "gmp",
        requestId,
        service: service.toLowerCase(),
        serviceRaw: Buffer.from(service, "latin1"),
        timeoutMs,
        flags,
        traceId: traceIn(trace),
        body: frames.slice(1),
      };
    }
    case Verb.HEARTBEAT:
      return a.length === 0 && frames.length === 1
        ? { kind: "heartbeat" }
        : malformed("HEARTBEAT takes no arguments");
    case Verb.CANCEL: {
      const requestId = tokenOf(a[0], Limits.maxRequestIdBytes);
      if (requestId === undefined || a.length !== 1)
        return malformed("CANCEL needs exactly one request id");
      return { kind: "cancel", requestId };
    }
    default:
      return malformed("unknown client verb");
  }
}

/** A message from a worker to the broker's backend. */
export type BackendMessage =
  | {
      readonly kind: "ready";
      readonly dialect: "mdp" | "gmp";
      readonly services: string[];
      readonly credit: number;
      /** The worker reads BATCH (`+batch` in its UP). */
      readonly batch: boolean;
    }
  | {
      readonly kind: "reply";
      readonly dialect: "mdp" | "gmp";
      readonly key: string;
      readonly final: boolean;
      readonly status: number;
      readonly body: Buffer[];
    }
  | { readonly kind: "heartbeat" }
  | { readonly kind: "down" }
  | { readonly kind: "disconnect" }
  | Malformed;

const STATUS_MIN = 100;
const STATUS_MAX = 599;

/** The UP option by which a worker says it reads BATCH. */
const BATCH_OPTION = "+batch";

/** Whether a frame starts `GMPxxx BATCH ` (any case of the verb): the cheap test before parsing. */
function looksLikeBatch(f: Buffer): boolean {
  return (
    f.length > 13 &&
    f[6] === 0x20 &&
    f[12] === 0x20 &&
    (f[7]! | 0x20) === 0x62 &&
    (f[8]! | 0x20) === 0x61 &&
    (f[9]! | 0x20) === 0x74 &&
    (f[10]! | 0x20) === 0x63 &&
    (f[11]! | 0x20) === 0x68
  );
}

/**
 * The messages `frames` (from index `from`) carries: those of a GMP BATCH
 * (`["<header> BATCH <n>", packed]`, n 2..1024; header `GMPW01` or `GMPC01`), else the one
 * message it is — so a list longer than one means a BATCH. Malformed when it is a BATCH that does
 * not hold exactly n messages. The messages inside are parsed like any other (a BATCH inside one
 * is malformed there).
 */
export function unbatch(
  frames: Buffer[],
  from = 0,
  header: typeof GMPW01 | typeof GMPC01 = GMPW01,
): Buffer[][] | Malformed {
  const first = frames[from];
  const cmd =
    first !== undefined && looksLikeBatch(first) ? splitCommand(first, header) : undefined;
  if (cmd?.verb !== Verb.BATCH) return [from === 0 ? frames : frames.slice(from)];
  const n = uintToken(cmd.args[0], MAX_BATCH_MESSAGES);
  if (n === undefined || n < 2 || cmd.args.length !== 1 || frames.length !== from + 2)
    return malformed(`BATCH needs a count 2..${MAX_BATCH_MESSAGES} and one packed frame`);
  return (
    unpackMessages(frames[from + 1]!, n) ?? malformed("BATCH frame does not hold its messages")
  );
}

/** Parses a backend message after the ROUTER identity frame. */
export function parseBackend(frames: readonly Buffer[]): BackendMessage {
  const first = frames[0];
  if (!first) return malformed("no frames");
  if (first.length !== 0) return parseGmpWorker(frames);
  if (frames.length < 3) return malformed("too few frames");
  const header = frames[1]!.toString("latin1");
  if (header === MDPW01) {
    const cmd = frames[2]!;
    if (cmd.length !== 1) return malformed("7/MDP command must be one byte");
    switch (cmd[0] as MdpCommand | undefined) {
      case MdpCommand.READY: {
        const svc = serviceName(frames[3]);
        if (!svc || frames.length !== 4) return malformed("READY needs exactly one service name");
        return { kind: "ready", dialect: "mdp", services: [svc.name], credit: 1, batch: false };
      }
      case MdpCommand.REPLY: {
        // ["", MDPW01, REPLY, client-address, "", body...]: the broker put the request key in
        // the client-address frame, so a stock worker echoes it back untouched.
        const key = shortId(frames[3], 32, false);
        if (key === undefined || frames.length < 5 || frames[4]!.length !== 0)
          return malformed("REPLY needs address and empty frame");
        return {
          kind: "reply",
          dialect: "mdp",
          key,
          final: true,
          status: 200,
          body: frames.slice(5),
        };
      }
      case MdpCommand.HEARTBEAT:
        return frames.length === 3 ? { kind: "heartbeat" } : malformed("HEARTBEAT takes no frames");
      case MdpCommand.DISCONNECT:
        return frames.length === 3
          ? { kind: "disconnect" }
          : malformed("DISCONNECT takes no frames");
      case MdpCommand.REQUEST:
      case undefined:
      default:
        return malformed("unknown 7/MDP worker command");
    }
  }
  return malformed("unknown protocol header");
}

function parseGmpWorker(frames: readonly Buffer[]): BackendMessage {
  const cmd = splitCommand(frames[0]!, GMPW01);
  if (!cmd) return malformed("unknown protocol header");
  const a = cmd.args;
  switch (cmd.verb) {
    case Verb.UP: {
      const credit = uintToken(a[0], Limits.maxCredit);
      if (credit === undefined || credit < 1)
        return malformed(`UP credit must be 1..${Limits.maxCredit}`);
      // Tokens starting with "+" are options (unknown ones ignored), the rest service names.
      const options = a.slice(1).filter((t) => t.startsWith("+"));
      const names = a.slice(1).filter((t) => !t.startsWith("+"));
      if (names.length === 0 || names.length > Limits.maxServicesPerWorker || frames.length !== 1)
        return malformed(`UP needs 1..${Limits.maxServicesPerWorker} service names`);
      if (options.length > 8) return malformed("UP takes at most 8 options");
      const services: string[] = [];
      for (const n of names) {
        const svc = tokenOf(n, Limits.maxServiceBytes);
        if (svc === undefined) return malformed("bad service name in UP");
        services.push(svc.toLowerCase());
      }
      const batch = options.some((o) => o.toLowerCase() === BATCH_OPTION);
      return { kind: "ready", dialect: "gmp", services, credit, batch };
    }
    case Verb.PARTIAL:
    case Verb.FINAL: {
      const key = tokenOf(a[0], 32);
      const status = uintToken(a[1], STATUS_MAX);
      if (key === undefined || status === undefined || status < STATUS_MIN || a.length !== 2)
        return malformed("reply needs key and status 100..599");
      return {
        kind: "reply",
        dialect: "gmp",
        key,
        final: cmd.verb === Verb.FINAL,
        status,
        body: frames.slice(1),
      };
    }
    case Verb.HEARTBEAT:
      return a.length === 0 && frames.length === 1
        ? { kind: "heartbeat" }
        : malformed("HEARTBEAT takes no arguments");
    case Verb.DOWN:
      return a.length === 0 && frames.length === 1
        ? { kind: "down" }
        : malformed("DOWN takes no arguments");
    case Verb.DISCONNECT:
      return { kind: "disconnect" };
    default:
      return malformed("unknown worker verb");
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders. Each returns the frames to send after the ROUTER identity (brokers) or as-is (DEALERs).

/**
 * An outgoing frame. Command frames go out as JS strings: zeromq.js copies a string into the
 * message and frees it on any thread, while a Buffer over 32 bytes is sent zero-copy and must
 * be released through an async hop to the main thread — measurably slower per message.
 */
export type OutFrame = Buffer | string;

const line = (text: string): string => text;

/** Broker → 7/MDP client reply. */
export function encodeMdpClientReply(serviceRaw: Buffer, body: readonly Buffer[]): OutFrame[] {
  return [EMPTY, frame(MDPC01), serviceRaw, ...body];
}

/** Broker → GMP client PARTIAL/FINAL. */
export function encodeGmpClientReply(
  requestId: string,
  final: boolean,
  status: number,
  body: readonly Buffer[],
): OutFrame[] {
  return [line(`${GMPC01} ${final ? Verb.FINAL : Verb.PARTIAL} ${requestId} ${status}`), ...body];
}

/** Broker → GMP client: a heartbeat's answer; `batch` when the broker reads BATCH from clients. */
export function encodeGmpClientHeartbeat(batch = false): OutFrame[] {
  return [`${GMPC01} ${Verb.HEARTBEAT}${batch ? " batch" : ""}`];
}

export interface RequestFields {
  readonly requestId: string;
  readonly service: string;
  readonly timeoutMs: number;
  readonly flags: number;
  readonly traceId: string;
  readonly body: readonly Buffer[];
}

/** Client → broker GMP REQUEST. */
export function encodeGmpRequest(req: RequestFields): OutFrame[] {
  return [
    line(
      `${GMPC01} ${Verb.REQUEST} ${req.requestId} ${req.service} ${req.timeoutMs} ${req.flags & 0xff} ${traceOut(req.traceId)}`,
    ),
    ...req.body,
  ];
}

export function encodeGmpClientCancel(requestId: string): OutFrame[] {
  return [line(`${GMPC01} ${Verb.CANCEL} ${requestId}`)];
}

/** Broker → GMP worker REQUEST. */
export function encodeWorkerRequest(
  key: string,
  service: string,
  timeoutMs: number,
  flags: number,
  traceId: string,
  body: readonly Buffer[],
): OutFrame[] {
  return [
    line(
      `${GMPW01} ${Verb.REQUEST} ${key} ${service} ${timeoutMs} ${flags & 0xff} ${traceOut(traceId)}`,
    ),
    ...body,
  ];
}

/** Broker → 7/MDP worker REQUEST; the request key rides in the client-address frame. */
export function encodeMdpWorkerRequest(key: string, body: readonly Buffer[]): OutFrame[] {
  return [EMPTY, frame(MDPW01), Buffer.from([MdpCommand.REQUEST]), key, EMPTY, ...body];
}

export function encodeWorkerHeartbeat(dialect: "mdp" | "gmp"): OutFrame[] {
  return dialect === "mdp"
    ? [EMPTY, frame(MDPW01), Buffer.from([MdpCommand.HEARTBEAT])]
    : [`${GMPW01} ${Verb.HEARTBEAT}`];
}

export function encodeWorkerDisconnect(dialect: "mdp" | "gmp", reason = ""): OutFrame[] {
  return dialect === "mdp"
    ? [EMPTY, frame(MDPW01), Buffer.from([MdpCommand.DISCONNECT])]
    : [`${GMPW01} ${Verb.DISCONNECT}`, Buffer.from(reason.slice(0, 200), "utf8")];
}

/**
 * Broker → GMP worker: UP accepted (status 200), with the heartbeat the broker dictates; `batch`
 * when the broker reads BATCH from this worker.
 */
export function encodeWorkerUpAck(intervalMs: number, liveness: number, batch = false): OutFrame[] {
  return [line(`${GMPW01} ${Verb.UP} 200 ${intervalMs} ${liveness}${batch ? " batch" : ""}`)];
}

export function encodeWorkerCancel(key: string): OutFrame[] {
  return [line(`${GMPW01} ${Verb.CANCEL} ${key}`)];
}

// Worker side --------------------------------------------------------------------------------

export function encodeWorkerUp(
  credit: number,
  services: readonly string[],
  batch = false,
): OutFrame[] {
  return [
    line(`${GMPW01} ${Verb.UP} ${credit} ${services.join(" ")}${batch ? ` ${BATCH_OPTION}` : ""}`),
  ];
}

export function encodeWorkerVerb(verb: typeof Verb.HEARTBEAT | typeof Verb.DOWN): OutFrame[] {
  return [`${GMPW01} ${verb}`];
}

export function encodeWorkerReply(
  key: string,
  final: boolean,
  status: number,
  body: readonly Buffer[],
): OutFrame[] {
  return [line(`${GMPW01} ${final ? Verb.FINAL : Verb.PARTIAL} ${key} ${status}`), ...body];
}

/** A message from the broker to a GMP worker. */
export type BrokerToWorker =
  | {
      readonly kind: "request";
      readonly key: string;
      readonly service: string;
      readonly timeoutMs: number;
      readonly flags: number;
      readonly traceId: string;
      readonly body: Buffer[];
    }
  | { readonly kind: "cancel"; readonly key: string }
  | { readonly kind: "heartbeat" }
  | {
      readonly kind: "up";
      readonly intervalMs: number;
      readonly liveness: number;
      /** The broker reads BATCH from this worker. */
      readonly batch: boolean;
    }
  | { readonly kind: "disconnect"; readonly reason: string }
  | Malformed;

/** Parses what a GMP worker's DEALER receives: `["GMPW01 <VERB> ...", body...]`. */
export function parseBrokerToWorker(frames: readonly Buffer[]): BrokerToWorker {
  const cmd = frames[0] ? splitCommand(frames[0], GMPW01) : undefined;
  if (!cmd) return malformed("not a GMPW01 message");
  const a = cmd.args;
  switch (cmd.verb) {
    case Verb.REQUEST: {
      const key = tokenOf(a[0], 32);
      const service = tokenOf(a[1], Limits.maxServiceBytes);
      const timeoutMs = uintToken(a[2], Limits.maxTimeoutMs);
      const flags = uintToken(a[3], 255);
      const trace = tokenOf(a[4], Limits.maxTraceIdBytes);
      if (
        key === undefined ||
        service === undefined ||
        timeoutMs === undefined ||
        flags === undefined ||
        trace === undefined ||
        a.length !== 5
      )
        return malformed("bad REQUEST");
      return {
        kind: "request",
        key,
        service: service.toLowerCase(),
        timeoutMs,
        flags,
        traceId: traceIn(trace),
        body: frames.slice(1),
      };
    }
    case Verb.CANCEL: {
      const key = tokenOf(a[0], 32);
      return key === undefined ? malformed("bad CANCEL") : { kind: "cancel", key };
    }
    case Verb.HEARTBEAT:
      return { kind: "heartbeat" };
    case Verb.UP: {
      const intervalMs = uintToken(a[1], 600_000);
      const liveness = uintToken(a[2], 1000);
      if (a[0] !== "200" || !intervalMs || !liveness) return malformed("bad UP reply");
      return { kind: "up", intervalMs, liveness, batch: a.slice(3).includes("batch") };
    }
    case Verb.DISCONNECT:
      return { kind: "disconnect", reason: frames[1]?.toString("utf8").slice(0, 200) ?? "" };
    default:
      return malformed("unknown broker verb");
  }
}

/** A message from the broker to a GMP client. */
export type BrokerToClient =
  | {
      readonly kind: "reply";
      readonly requestId: string;
      readonly final: boolean;
      readonly status: number;
      readonly body: Buffer[];
    }
  | {
      readonly kind: "heartbeat";
      /** The broker reads BATCH from this client. */
      readonly batch: boolean;
    }
  | Malformed;

/** Parses what a GMP client's DEALER receives: `["GMPC01 <VERB> ...", body...]`. */
export function parseBrokerToClient(frames: readonly Buffer[]): BrokerToClient {
  const cmd = frames[0] ? splitCommand(frames[0], GMPC01) : undefined;
  if (!cmd) return malformed("not a GMPC01 message");
  if (cmd.verb === Verb.HEARTBEAT) return { kind: "heartbeat", batch: cmd.args.includes("batch") };
  if (cmd.verb !== Verb.PARTIAL && cmd.verb !== Verb.FINAL) return malformed("unknown broker verb");
  const requestId = tokenOf(cmd.args[0], Limits.maxRequestIdBytes);
  const status = uintToken(cmd.args[1], STATUS_MAX);
  if (requestId === undefined || status === undefined || status < STATUS_MIN)
    return malformed("reply needs request id and status");
  return {
    kind: "reply",
    requestId,
    final: cmd.verb === Verb.FINAL,
    status,
    body: frames.slice(1),
  };
}

export { Flag };
