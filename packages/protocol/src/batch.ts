/**
 * BATCH (docs/protocol.md): several whole GMP messages to one peer carried as one ZeroMQ
 * message, `["GMPW01 BATCH <n>", packed]` (`GMPC01` between client and broker). zeromq.js costs a
 * few µs of main-thread time per send and per receive whatever the size (a promise, a poll-state
 * check, a native call per frame, and a wake-up of its I/O thread), and on a hop of small
 * requests that fixed cost is most of the work. A `SendBatcher` sends the first message of an event-loop turn to a peer at
 * once (a request alone waits for nothing) and holds the rest of that turn's messages to the peer
 * until the turn ends (`setImmediate`), then sends them as one BATCH (or as itself, if one).
 *
 * The packed frame holds, per message, its frame count (u32 big-endian), then per frame its
 * length (u32 big-endian) and bytes. Peers only send BATCH to a peer that said it reads them
 * (worker: `+batch` in UP, broker: `batch` in its UP reply and heartbeat answers; a client that
 * sends a BATCH reads them), and a receiver unpacks it with a total function: anything but
 * exactly `n` well-formed messages is malformed.
 */
import type { OutFrame } from "./codec.js";

/** Most messages one BATCH carries. */
export const MAX_BATCH_MESSAGES = 1024;
/** Most frames one message inside a BATCH may have. */
export const MAX_BATCH_FRAMES = 1024;
/**
 * A queue is sent at once when it holds this many bytes, and a message this big goes alone: a
 * BATCH stays under twice this, far below `maxMessageBytes`.
 */
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

/** Called when the send carrying a queued message fails. */
export type SendErrorHandler = (err: Error) => void;

interface Queue<D> {
  readonly dest: D;
  readonly messages: OutFrame[][];
  readonly onErrors: SendErrorHandler[];
  bytes: number;
}

/**
 * Per-peer send queues: a turn's first message to a peer goes at once, the rest at the turn's
 * end. `send` gets either one message or the BATCH carrying several, in order, with the error
 * handlers of the messages it carries.
 */
export class SendBatcher<D> {
  private readonly queues = new Map<string, Queue<D>>();
  private scheduled = false;

  constructor(
    private readonly header: string,
    private readonly send: (dest: D, frames: OutFrame[], onErrors: SendErrorHandler[]) => void,
  ) {}

  /** Sends or queues a message to the peer `key` (reached at `dest`). */
  push(key: string, dest: D, frames: OutFrame[], onError?: SendErrorHandler): void {
    const onErrors = onError === undefined ? [] : [onError];
    const queue = this.queues.get(key);
    let bytes = 0;
    if (queue !== undefined) for (const f of frames) bytes += byteLength(f);
    // Alone: the turn's first message to this peer (what follows this turn waits for its end),
    // and one too big to ride in a BATCH — more frames than it carries (a broker.publish of
    // 1000 events has 2001) or 1 MiB and more, so a BATCH stays under 2 MiB whatever comes —
    // after what the turn queued for the peer, so the order holds.
    if (queue === undefined || frames.length > MAX_BATCH_FRAMES || bytes >= FLUSH_BYTES) {
      if (queue === undefined) this.schedule();
      else this.sendQueue(queue);
      this.queues.set(key, { dest, messages: [], onErrors: [], bytes: 0 });
      this.send(dest, frames, onErrors);
      return;
    }
    queue.messages.push(frames);
    queue.onErrors.push(...onErrors);
    queue.bytes += bytes;
    if (queue.messages.length >= MAX_BATCH_MESSAGES || queue.bytes >= FLUSH_BYTES) {
      this.sendQueue(queue);
      this.queues.set(key, { dest, messages: [], onErrors: [], bytes: 0 });
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
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
    const { messages, onErrors } = queue;
    if (messages.length === 0) return;
    if (messages.length === 1) this.send(queue.dest, messages[0]!, onErrors);
    else
      this.send(
        queue.dest,
        [`${this.header} BATCH ${messages.length}`, packMessages(messages)],
        onErrors,
      );
  }
}
