/**
 * Puts a region's place events back into `seq` order before the broker publishes them. Workers
 * commit writes in seq order but their `broker.publish` requests may arrive in another order
 * (several workers, several paths); the sequencer emits `last + 1` as soon as it has it, holds
 * later ones, and — when a number stays missing for `holdMs` (its publisher died after the
 * commit, say) — skips it, so one lost event delays the others by at most `holdMs`. Gateways see
 * the skip as a jump in `seq` and report a gap.
 */
export interface SequencerOptions {
  /** How long a missing number holds back the ones after it (ms). */
  readonly holdMs: number;
  /** At most this many events wait; past it the oldest gap is skipped at once. */
  readonly maxHeld: number;
}

export interface SequencerCounters {
  emitted: number;
  /** Events that arrived after their number had been skipped or already emitted (dropped). */
  late: number;
  /** Numbers skipped because they never arrived. */
  skipped: number;
}

export class EventSequencer<T> {
  private last: number | undefined;
  private readonly held = new Map<number, { payload: T; at: number }>();
  readonly counters: SequencerCounters = { emitted: 0, late: 0, skipped: 0 };

  constructor(
    private readonly emit: (seq: number, payload: T) => void,
    private readonly options: SequencerOptions,
  ) {}

  /** The last number emitted (0 before any). */
  get lastSeq(): number {
    return this.last ?? 0;
  }

  /** Takes one event. */
  push(seq: number, payload: T, now = Date.now()): void {
    if (this.last === undefined) {
      // The first event this broker sees starts the sequence (it may have restarted mid-stream).
      this.last = seq - 1;
    }
    if (seq <= this.last || this.held.has(seq)) {
      this.counters.late += 1;
      return;
    }
    this.held.set(seq, { payload, at: now });
    this.drain();
    if (this.held.size > this.options.maxHeld) this.skipGap();
  }

  /** Skips numbers that have been missing for longer than `holdMs`. Call periodically. */
  tick(now = Date.now()): void {
    while (this.held.size > 0) {
      let oldest = Infinity;
      for (const { at } of this.held.values()) oldest = Math.min(oldest, at);
      if (now - oldest < this.options.holdMs) return;
      this.skipGap();
    }
  }

  private skipGap(): void {
    const next = Math.min(...this.held.keys());
    this.counters.skipped += next - (this.lastSeq + 1);
    this.last = next - 1;
    this.drain();
  }

  private drain(): void {
    for (;;) {
      const seq = this.lastSeq + 1;
      const entry = this.held.get(seq);
      if (entry === undefined) return;
      this.held.delete(seq);
      this.last = seq;
      this.counters.emitted += 1;
      this.emit(seq, entry.payload);
    }
  }
}
