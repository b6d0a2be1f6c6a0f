/**
 * Sees, without a system call, whether any connection may have committed to a WAL-mode SQLite
 * file since a moment marked earlier: SQLite keeps the WAL-index header at the start of the
 * `-shm` file, which every connection maps shared, and rewrites it on each commit (its change
 * counter `iChange` moves on every write transaction, and a checkpoint that restarts the log
 * changes its salts). A writer writes the header's second copy, then its first; a reader that
 * sees both copies equal saw an untorn header (SQLite's own `walIndexTryHdr` rule).
 *
 * This only ever answers "unchanged since the mark" or "don't know": the store still asks SQLite
 * (`PRAGMA data_version`) whenever the answer is not "unchanged", and marks only a header read
 * before a `PRAGMA data_version` that found the memory current. The file is mapped by a small
 * native addon (`native/shm-map.c`, built at install by node-gyp); without it — not built, a
 * platform without it, a database with no `-shm` file — `open()` returns undefined and the
 * store asks SQLite on every query, as before.
 */
import { createRequire } from "node:module";

/** The two copies of the 48-byte WalIndexHdr: 2 × 12 32-bit words (SQLite's wal.c). */
const HEADER_WORDS = 12;
const MAPPED_BYTES = 2 * HEADER_WORDS * 4;

interface ShmMap {
  mapShm(path: string, bytes: number): ArrayBuffer;
}

let addon: ShmMap | null | undefined;

function shmMap(): ShmMap | null {
  if (addon === undefined) {
    try {
      const required = createRequire(import.meta.url)("../build/Release/shm_map.node") as ShmMap;
      addon = typeof required.mapShm === "function" ? required : null;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** Whether the native mapping is available in this install. */
export function walHeaderMappable(): boolean {
  return shmMap() !== null;
}

export class WalHeaderWatch {
  private readonly words: Int32Array;
  private readonly mark = new Int32Array(HEADER_WORDS);
  private readonly seen = new Int32Array(HEADER_WORDS);
  private marked = false;

  private constructor(buffer: ArrayBuffer) {
    this.words = new Int32Array(buffer, 0, 2 * HEADER_WORDS);
  }

  /**
   * Maps `<dbPath>-shm`, or undefined when it cannot be (no addon, no such file, shorter than
   * the header). Call only while a connection to the file is open and has read from it: that
   * connection's shared lock keeps another process from truncating the file under the mapping.
   */
  static open(dbPath: string): WalHeaderWatch | undefined {
    const map = shmMap();
    if (map === null) return undefined;
    try {
      return new WalHeaderWatch(map.mapShm(`${dbPath}-shm`, MAPPED_BYTES));
    } catch {
      return undefined;
    }
  }

  /** Reads the header; true when both copies agree (untorn), leaving it to `markRead()`. */
  read(): boolean {
    const { words, seen } = this;
    let equal = true;
    for (let i = 0; i < HEADER_WORDS; i++) {
      const first = Atomics.load(words, i);
      seen[i] = first;
      if (Atomics.load(words, HEADER_WORDS + i) !== first) equal = false;
    }
    // An all-zero header is one SQLite has not written yet (a fresh -shm): never a mark.
    return equal && seen[0] !== 0;
  }

  /** Marks the header from the last `read()` that returned true. */
  markRead(): void {
    this.mark.set(this.seen);
    this.marked = true;
  }

  /** Forgets the mark: `unchanged()` is false until the next `markRead()`. */
  forget(): void {
    this.marked = false;
  }

  /** True only when the header is untorn and equal to the mark: no commit since it was read. */
  unchanged(): boolean {
    if (!this.marked) return false;
    const { words, mark } = this;
    for (let i = 0; i < HEADER_WORDS; i++) {
      const first = Atomics.load(words, i);
      if (first !== mark[i] || Atomics.load(words, HEADER_WORDS + i) !== first) return false;
    }
    return true;
  }
}
