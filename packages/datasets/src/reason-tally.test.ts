import { describe, expect, it } from "vitest";
import { OTHER_REASONS, ReasonTally } from "./reason-tally.js";

describe("ReasonTally", () => {
  it("counts rows per reason, most frequent first, keeping the first few rows as sorted examples", () => {
    const tally = new ReasonTally(10, 3);
    for (const row of [9, 4, 7, 1]) tally.add("b", "VALIDATION_FAILED", row);
    tally.add("a", "BAD_REQUEST", 2);
    tally.add("c", "BAD_REQUEST", 3);
    expect(tally.list()).toEqual([
      { reason: "b", code: "VALIDATION_FAILED", count: 4, examples: [4, 7, 9] },
      { reason: "a", code: "BAD_REQUEST", count: 1, examples: [2] },
      { reason: "c", code: "BAD_REQUEST", count: 1, examples: [3] },
    ]);
  });

  it("pools reasons past its bound so a file of unique errors cannot exhaust memory", () => {
    const tally = new ReasonTally(3, 2);
    for (let i = 0; i < 10_000; i += 1) tally.add(`unique ${i}`, "BAD_REQUEST", i + 1);
    const list = tally.list();
    expect(list).toHaveLength(4);
    expect(list[0]).toEqual({
      reason: OTHER_REASONS,
      code: "BAD_REQUEST",
      count: 9_997,
      examples: [4, 5],
    });
    expect(list.reduce((sum, r) => sum + r.count, 0)).toBe(10_000);
  });
});
