import { describe, expect, it } from "vitest";
import { EventSequencer } from "./event-sequencer.js";

function sequencer(holdMs = 100, maxHeld = 100) {
  const out: number[] = [];
  const s = new EventSequencer<string>((seq) => out.push(seq), { holdMs, maxHeld });
  return { s, out };
}

describe("EventSequencer", () => {
  it("emits events that arrive in order at once", () => {
    const { s, out } = sequencer();
    for (const seq of [1, 2, 3]) s.push(seq, "x", 0);
    expect(out).toEqual([1, 2, 3]);
    expect(s.lastSeq).toBe(3);
  });

  it("puts out-of-order arrivals back in seq order", () => {
    const { s, out } = sequencer();
    s.push(1, "a", 0);
    s.push(3, "c", 0);
    s.push(4, "d", 0);
    expect(out).toEqual([1]);
    s.push(2, "b", 0);
    expect(out).toEqual([1, 2, 3, 4]);
  });

  it("starts from the first number it sees (a broker restarted mid-stream)", () => {
    const { s, out } = sequencer();
    s.push(41, "x", 0);
    s.push(42, "y", 0);
    expect(out).toEqual([41, 42]);
  });

  it("skips a number missing for longer than holdMs and counts it", () => {
    const { s, out } = sequencer(100);
    s.push(1, "a", 0);
    s.push(3, "c", 10);
    s.tick(50);
    expect(out).toEqual([1]);
    s.tick(111);
    expect(out).toEqual([1, 3]);
    expect(s.counters.skipped).toBe(1);
    s.push(2, "late", 120);
    expect(out).toEqual([1, 3]);
    expect(s.counters.late).toBe(1);
  });

  it("drops duplicates", () => {
    const { s, out } = sequencer();
    s.push(1, "a", 0);
    s.push(1, "a", 0);
    s.push(3, "c", 0);
    s.push(3, "c", 0);
    expect(out).toEqual([1]);
    expect(s.counters.late).toBe(2);
  });

  it("bounds what it holds: past maxHeld the oldest gap is skipped at once", () => {
    const { s, out } = sequencer(60_000, 3);
    s.push(1, "a", 0);
    for (const seq of [3, 4, 5]) s.push(seq, "x", 0);
    expect(out).toEqual([1]);
    s.push(6, "x", 0);
    expect(out).toEqual([1, 3, 4, 5, 6]);
  });
});
