/**
 * Protocol headers, commands and frame limits for 7/MDP (Majordomo 0.1) and geomesh's extended
 * dialect (GMP). docs/protocol.md has the frame tables.
 */

/** 7/MDP client header. */
export const MDPC01 = "MDPC01";
/** 7/MDP worker header. */
export const MDPW01 = "MDPW01";
/** Extended client header (geomesh client dialect, version 1). */
export const GMPC01 = "GMPC01";
/** Extended worker header (geomesh worker dialect, version 1). */
export const GMPW01 = "GMPW01";

/** 7/MDP worker command bytes. */
export const MdpCommand = {
  READY: 0x01,
  REQUEST: 0x02,
  REPLY: 0x03,
  HEARTBEAT: 0x04,
  DISCONNECT: 0x05,
} as const;
export type MdpCommand = (typeof MdpCommand)[keyof typeof MdpCommand];

/** Extended-dialect verbs. On the wire they are ASCII and case-insensitive. */
export const Verb = {
  UP: "UP",
  DOWN: "DOWN",
  HEARTBEAT: "HEARTBEAT",
  REQUEST: "REQUEST",
  PARTIAL: "PARTIAL",
  FINAL: "FINAL",
  CANCEL: "CANCEL",
  DISCONNECT: "DISCONNECT",
  BATCH: "BATCH",
} as const;
export type Verb = (typeof Verb)[keyof typeof Verb];

/** Request flags (one byte). */
export const Flag = {
  /** Safe to run twice: re-dispatched when the worker running it dies. */
  IDEMPOTENT: 0x01,
  /** The requester accepts PARTIAL replies. */
  STREAM: 0x02,
  /** Already overflowed once: must not be overflowed again (peering). */
  OVERFLOWED: 0x04,
} as const;

export const Limits = {
  /** Longest request id a client may choose. */
  maxRequestIdBytes: 64,
  /** Longest service name. */
  maxServiceBytes: 128,
  /** Longest trace id. */
  maxTraceIdBytes: 64,
  /** Most services one worker may register with UP. */
  maxServicesPerWorker: 128,
  /** Largest concurrency credit a worker may declare. */
  maxCredit: 1024,
  /** Longest GMP command frame: room for UP with 128 services of 128 characters. */
  maxCommandBytes: 17 * 1024,
  /** Longest timeout a request may ask for (1 h). */
  maxTimeoutMs: 3_600_000,
} as const;

export const EMPTY = Buffer.alloc(0);

const bufferCache = new Map<string, Buffer>();
/** Interned Buffers for constant frames, so the hot path does not re-encode them. */
export function frame(text: string): Buffer {
  let buf = bufferCache.get(text);
  if (!buf) {
    buf = Buffer.from(text, "latin1");
    if (bufferCache.size < 4096) bufferCache.set(text, buf);
  }
  return buf;
}
