/**
 * BATCH (docs/protocol.md): several whole GMP worker messages to one peer carried as one ZeroMQ
 * message, `["GMPW01 BATCH <n>", packed]`. zeromq.js costs a few µs of main-thread time per send
 * and per receive whatever the size (a promise, a poll-state check, a native call per frame, and
 * a wake-up of its I/O thread), and on the broker ↔ worker hop that fixed cost is most of the work
 * of a small request. A `SendBatcher` holds what one event-loop turn sends to a peer and sends it
 * as one message at the end of the turn (`setImmediate`): one request alone goes out as itself,
 * a burst as one BATCH.
 *
 * The packed frame holds, per message, its frame count (u32 big-endian), then per frame its
 * length (u32 big-endian) and bytes. Peers only send BATCH to a peer that said it reads them
 * (`+batch` in UP, `batch` in the UP reply), and a receiver unpacks it with a total function:
 * anything but exactly `n` well-formed messages is malformed.
 */
import type { OutFrame } from "./codec.js";

/** Most messages one BATCH carries. */
export const MAX_BATCH_MESSAGES = 1024;
/** Most frames one message inside a BATCH may have. */
export const MAX_BATCH_FRAMES = 1024;
/** A queue is sent at once when it holds this many bytes (far below `maxMessageBytes`). */
const FLUSH_BYTES = 1 << 20;

function byteLength(frame: OutFrame): number {
  return typeof frame === "string" ? Buffer.byteLength(frame, "utf8") : frame.length;
}

/** Packs messages (each a list of frames) into one frame; see the module comment. */
export function packMessages(messages: readonly (readonly OutFrame[])[]): Buffer {
  let size = 0;
  for (const m of messages) {
    size += 4;
    for (const f of m) size += 4 + byteLength(f);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of messages) {
    out.writeUInt32BE(m.length, at);
    at += 4;
    for (const f of m) {
      const start = at + 4;
      const length = typeof f === "string" ? out.write(f, start, "utf8") : f.copy(out, start);
      out.writeUInt32BE(length, at);
      at = start + length;
    }
  }
  return out;
}

/**
 * The `count` messages packed in `packed` (frames are views into it), or undefined unless it
 * holds exactly that many, each of 1..MAX_BATCH_FRAMES frames.
 */
export function unpackMessages(packed: Buffer, count: number): Buffer[][] | undefined {
  const messages: Buffer[][] = [];
  let at = 0;
  for (let m = 0; m < count; m++) {
    if (at + 4 > packed.length) return undefined;
    const frames = packed.readUInt32BE(at);
    at += 4;
    if (frames < 1 || frames > MAX_BATCH_FRAMES) return undefined;
    const message: Buffer[] = [];
    for (let f = 0; f < frames; f++) {
      if (at + 4 > packed.length) return undefined;
      const length = packed.readUInt32BE(at);
      at += 4;
      if (length > packed.length - at) return undefined;
      message.push(packed.subarray(at, at + length));
      at += length;
    }
    messages.push(message);
  }
  return at === packed.length ? messages : undefined;
}

interface Queue<D> {
  readonly dest: D;
  readonly messages: OutFrame[][];
  bytes: number;
}

/**
 * Per-peer send queues flushed at the end of the event-loop turn. `send` gets either a message
 * as it was queued (a queue of one) or the BATCH carrying the queue, in order.
 */
export class SendBatcher<D> {
  private readonly queues = new Map<string, Queue<D>>();
  private scheduled = false;

  constructor(
    private readonly header: string,
    private readonly send: (dest: D, frames: OutFrame[]) => void,
  ) {}

  /** Queues a message to the peer `key` (reached at `dest`). */
  push(key: string, dest: D, frames: OutFrame[]): void {
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { dest, messages: [], bytes: 0 };
      this.queues.set(key, queue);
    }
    queue.messages.push(frames);
    for (const f of frames) queue.bytes += byteLength(f);
    if (queue.messages.length >= MAX_BATCH_MESSAGES || queue.bytes >= FLUSH_BYTES) {
      this.queues.delete(key);
      this.sendQueue(queue);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends every queue now (before a socket closes). */
  readonly flush = (): void => {
    this.scheduled = false;
    const queues = [...this.queues.values()];
    this.queues.clear();
    for (const queue of queues) this.sendQueue(queue);
  };

  /** Forgets what is queued (its connection is gone). */
  clear(): void {
    this.queues.clear();
  }

  private sendQueue(queue: Queue<D>): void {
    const { messages } = queue;
    if (messages.length === 1) this.send(queue.dest, messages[0]!);
    else this.send(queue.dest, [`${this.header} BATCH ${messages.length}`, packMessages(messages)]);
  }
}
