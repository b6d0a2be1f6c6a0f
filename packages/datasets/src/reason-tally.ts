import type { ErrorCode } from "@geomesh/errors";

/** One reason rows were refused: how many, and the first few row numbers as examples. */
export interface ReasonCount {
  readonly reason: string;
  readonly code: ErrorCode;
  readonly count: number;
  /** Up to `maxExamples` row numbers, ascending. */
  readonly examples: readonly number[];
}

/** Reason text under which rows are counted once `maxReasons` distinct reasons have been seen. */
export const OTHER_REASONS = "(other reasons)";

/**
 * Counts refusals by reason text with bounded memory: at most `maxReasons` distinct reasons
 * (later new ones are pooled under OTHER_REASONS) and `maxExamples` rows each.
 */
export class ReasonTally {
  private readonly byReason = new Map<
    string,
    { code: ErrorCode; count: number; examples: number[] }
  >();

  constructor(
    private readonly maxReasons = 200,
    private readonly maxExamples = 5,
  ) {}

  add(reason: string, code: ErrorCode, row: number): void {
    let entry = this.byReason.get(reason);
    if (!entry) {
      if (this.byReason.size >= this.maxReasons) {
        reason = OTHER_REASONS;
        entry = this.byReason.get(reason);
      }
      if (!entry) {
        entry = { code, count: 0, examples: [] };
        this.byReason.set(reason, entry);
      }
    }
    entry.count += 1;
    if (entry.examples.length < this.maxExamples) entry.examples.push(row);
  }

  /** Reasons, most frequent first (ties by reason text). */
  list(): ReasonCount[] {
    return [...this.byReason.entries()]
      .map(([reason, e]) => ({
        reason,
        code: e.code,
        count: e.count,
        examples: [...e.examples].sort((a, b) => a - b),
      }))
      .sort(
        (a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0),
      );
  }
}
