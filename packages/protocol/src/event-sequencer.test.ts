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
    for (const seq of [1, 2, 3]) s.push(seq, "x", undefined, 0);
    expect(out).toEqual([1, 2, 3]);
    expect(s.lastSeq).toBe(3);
  });

  it("puts out-of-order arrivals back in seq order", () => {
    const { s, out } = sequencer();
    s.push(1, "a", undefined, 0);
    s.push(3, "c", undefined, 0);
    s.push(4, "d", undefined, 0);
    expect(out).toEqual([1]);
    s.push(2, "b", undefined, 0);
    expect(out).toEqual([1, 2, 3, 4]);
  });

  it("starts from the first number it sees (a broker restarted mid-stream)", () => {
    const { s, out } = sequencer();
    s.push(41, "x", undefined, 0);
    s.push(42, "y", undefined, 0);
    expect(out).toEqual([41, 42]);
  });

  it("skips a number missing for longer than holdMs and counts it", () => {
    const { s, out } = sequencer(100);
    s.push(1, "a", undefined, 0);
    s.push(3, "c", undefined, 10);
    s.tick(50);
    expect(out).toEqual([1]);
    s.tick(111);
    expect(out).toEqual([1, 3]);
    expect(s.counters.skipped).toBe(1);
    s.push(2, "late", undefined, 120);
    expect(out).toEqual([1, 3]);
    expect(s.counters.late).toBe(1);
  });

  it("drops duplicates", () => {
    const { s, out } = sequencer();
    s.push(1, "a", undefined, 0);
    s.push(1, "a", undefined, 0);
    s.push(3, "c", undefined, 0);
    s.push(3, "c", undefined, 0);
    expect(out).toEqual([1]);
    expect(s.counters.late).toBe(2);
  });

  it("bounds what it holds: past maxHeld the oldest gap is skipped at once", () => {
    const { s, out } = sequencer(60_000, 3);
    s.push(1, "a", undefined, 0);
    for (const seq of [3, 4, 5]) s.push(seq, "x", undefined, 0);
    expect(out).toEqual([1]);
    s.push(6, "x", undefined, 0);
    expect(out).toEqual([1, 3, 4, 5, 6]);
  });

  it("waits for a re-send: a number missing for less than holdMs is delivered in order", () => {
    const { s, out } = sequencer(60_000);
    s.push(1, "a", undefined, 0);
    s.push(3, "c", undefined, 0);
    s.push(4, "d", undefined, 0);
    s.tick(30_000);
    expect(out).toEqual([1]);
    expect(s.waiting).toBe(2);
    // The publisher died after committing 2; a live worker's sweep re-sends it from the outbox.
    s.push(2, "b", 1, 31_000);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(s.counters).toMatchObject({ skipped: 0, absent: 0, late: 0 });
  });

  it("passes over numbers the outbox never held when a re-send names its predecessor", () => {
    const { s, out } = sequencer(60_000);
    s.push(1, "a", undefined, 0);
    s.push(4, "d", undefined, 0);
    expect(out).toEqual([1]);
    // Re-sent from the outbox: the change before 4 is 1, so 2 and 3 were never committed.
    s.push(4, "d", 1, 10);
    expect(out).toEqual([1, 4]);
    expect(s.counters.absent).toBe(2);
    // A predecessor not emitted yet: 7 waits for 5, then 6 is known absent.
    s.push(7, "g", 5, 20);
    expect(out).toEqual([1, 4]);
    s.push(5, "e", 4, 30);
    expect(out).toEqual([1, 4, 5, 7]);
    expect(s.counters).toMatchObject({ absent: 3, skipped: 0 });
  });

  it("adopts the outbox head when fresh, and only then", () => {
    const { s, out } = sequencer();
    expect(s.fresh).toBe(true);
    s.adopt(40);
    expect(s.fresh).toBe(false);
    expect(s.lastSeq).toBe(40);
    s.push(40, "old", undefined, 0);
    s.push(41, "x", undefined, 0);
    s.adopt(100);
    expect(out).toEqual([41]);
    expect(s.lastSeq).toBe(41);
  });

  it("starts a re-sent first event right after its named predecessor", () => {
    const { s, out } = sequencer();
    s.push(12, "l", 10, 0);
    s.push(11, "k", undefined, 0);
    expect(out).toEqual([12]);
    expect(s.counters.late).toBe(1);
  });
});
