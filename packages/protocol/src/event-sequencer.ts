/**
 * Puts a region's place events back into `seq` order before the broker publishes them. Workers
 * commit writes in seq order but their `broker.publish` requests may arrive in another order
 * (several workers, several paths), and a publisher may die between its commit and its publish.
 * The sequencer emits `last + 1` as soon as it has it and holds later ones: a missing number is
 * waited for, because the region's workers re-send what the broker has not published from the
 * store's outbox (their sweep, every heartbeat interval and at start). A re-sent event says which
 * change precedes it in the outbox (`after`), so numbers the outbox never held (a store's holes)
 * are known to be absent rather than late. Only when a number stays missing for `holdMs` — no
 * live worker of the region re-sent it — is it skipped; gateways see the jump and refill it from
 * the outbox themselves.
 */
export interface SequencerOptions {
  /** Last resort: how long a missing number may hold back the ones after it (ms). */
  readonly holdMs: number;
  /** At most this many events wait; past it the oldest gap is skipped at once. */
  readonly maxHeld: number;
}

export interface SequencerCounters {
  emitted: number;
  /** Events that arrived after their number had been skipped or already emitted (dropped). */
  late: number;
  /** Numbers skipped because they never arrived within `holdMs` (or too many events waited). */
  skipped: number;
  /** Numbers passed over because a re-sent event said the outbox never held them. */
  absent: number;
}

interface Held<T> {
  readonly payload: T;
  readonly at: number;
  /** The change before this one in the outbox, when the sender knows it. */
  readonly after: number | undefined;
}

export class EventSequencer<T> {
  private last: number | undefined;
  private readonly held = new Map<number, Held<T>>();
  /** Held events by the outbox predecessor they named: `after` → seq. */
  private readonly byAfter = new Map<number, number>();
  readonly counters: SequencerCounters = { emitted: 0, late: 0, skipped: 0, absent: 0 };

  constructor(
    private readonly emit: (seq: number, payload: T) => void,
    private readonly options: SequencerOptions,
  ) {}

  /** The last number emitted (0 before any). */
  get lastSeq(): number {
    return this.last ?? 0;
  }

  /** True before the first event or `adopt`: this broker does not know where the sequence stands. */
  get fresh(): boolean {
    return this.last === undefined;
  }

  /**
   * Starts a fresh sequence at `head` (the outbox's newest change, from a worker's sweep): what
   * was committed before this broker started was published by its predecessor, and gateways
   * refill what they missed from the outbox. No-op once the sequence has started.
   */
  adopt(head: number): void {
    if (this.last === undefined) this.last = Math.max(0, head);
  }

  /**
   * Takes one event. `after` is the seq of the change that precedes it in the outbox (numbers in
   * between were never committed, or are pruned): a re-send from the outbox sets it.
   */
  push(seq: number, payload: T, after?: number, now = Date.now()): void {
    const known = after !== undefined && after < seq ? after : undefined;
    // The first event this broker sees starts the sequence (it may have restarted mid-stream).
    this.last ??= known ?? seq - 1;
    if (seq <= this.last) {
      this.counters.late += 1;
      return;
    }
    if (this.held.has(seq)) this.counters.late += 1;
    else {
      this.held.set(seq, { payload, at: now, after: known });
      if (known !== undefined && known > this.last) this.byAfter.set(known, seq);
    }
    if (known !== undefined && known <= this.last) this.passTo(seq);
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

  /** Numbers held back, waiting for a missing one. */
  get waiting(): number {
    return this.held.size;
  }

  private skipGap(): void {
    const next = Math.min(...this.held.keys());
    this.counters.skipped += next - (this.lastSeq + 1);
    this.last = next - 1;
    this.drain();
  }

  /**
   * The outbox says nothing lies between the last emitted number and `seq`: emit what is held
   * below it (a contradiction — the sender's view was stale — resolved in seq order), then go on.
   */
  private passTo(seq: number): void {
    const below = [...this.held.keys()].filter((s) => s < seq).sort((a, b) => a - b);
    for (const s of below) this.emitHeld(s, "absent");
    this.counters.absent += seq - 1 - this.lastSeq;
    this.last = seq - 1;
  }

  private emitHeld(seq: number, passed: "absent" | "none"): void {
    const entry = this.held.get(seq);
    if (entry === undefined) return;
    if (passed === "absent") this.counters.absent += seq - 1 - this.lastSeq;
    this.held.delete(seq);
    if (entry.after !== undefined && this.byAfter.get(entry.after) === seq)
      this.byAfter.delete(entry.after);
    this.last = seq;
    this.counters.emitted += 1;
    this.emit(seq, entry.payload);
  }

  private drain(): void {
    for (;;) {
      const last = this.lastSeq;
      if (this.held.has(last + 1)) {
        this.emitHeld(last + 1, "none");
        continue;
      }
      // An event re-sent from the outbox whose predecessor is the last number emitted: the
      // numbers between were never committed.
      const next = this.byAfter.get(last);
      if (next !== undefined && this.held.has(next)) {
        this.emitHeld(next, "absent");
        continue;
      }
      return;
    }
  }
}
