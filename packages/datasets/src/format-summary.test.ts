import { describe, expect, it } from "vitest";
import { formatSummary } from "./format-summary.js";
import { OUTSIDE_EVERY_REGION } from "./load-places.js";

describe("formatSummary", () => {
  it("renders totals, accepted rows per region and the top reasons with example rows", () => {
    const text = formatSummary({
      read: 12_345,
      accepted: 12_300,
      rejected: 45,
      byRegion: { CA: 2000, MW: 300, NE: 10_000 },
      reasons: [
        {
          reason: OUTSIDE_EVERY_REGION,
          code: "GEO_OUT_OF_REGION",
          count: 40,
          examples: [17, 18, 99, 120, 300],
        },
        {
          reason: "location.coordinates: latitude 123 is out of range [-90, 90]",
          code: "GEO_INVALID_GEOMETRY",
          count: 5,
          examples: [2, 3, 4, 5, 6],
        },
      ],
    });
    expect(text).toBe(
      [
        "read 12,345 rows: 12,300 accepted, 45 rejected",
        "accepted by region:",
        "  CA   2,000",
        "  MW     300",
        "  NE  10,000",
        "rejected:",
        "  40 × outside every region (more than 50 km from all) — rows 17, 18, 99, 120, 300, …",
        "  5 × location.coordinates: latitude 123 is out of range [-90, 90] — rows 2, 3, 4, 5, 6",
      ].join("\n"),
    );
  });

  it("says how many reasons it left out and renders an empty load", () => {
    const reasons = Array.from({ length: 4 }, (_, i) => ({
      reason: `r${i}`,
      code: "VALIDATION_FAILED" as const,
      count: 1,
      examples: [i + 1],
    }));
    const text = formatSummary(
      { read: 4, accepted: 0, rejected: 4, byRegion: {}, reasons },
      { maxReasons: 2 },
    );
    expect(text.split("\n")).toEqual([
      "read 4 rows: 0 accepted, 4 rejected",
      "rejected (top 2 of 4 reasons):",
      "  1 × r0 — row 1",
      "  1 × r1 — row 2",
    ]);
    expect(formatSummary({ read: 0, accepted: 0, rejected: 0, byRegion: {}, reasons: [] })).toBe(
      "read 0 rows: 0 accepted, 0 rejected",
    );
  });

  it("masks control characters a hostile file put into a reason", () => {
    const text = formatSummary({
      read: 1,
      accepted: 0,
      rejected: 1,
      byRegion: {},
      reasons: [
        {
          reason: "invalid JSON: \u001b[2J\nfake line",
          code: "BAD_REQUEST",
          count: 1,
          examples: [1],
        },
      ],
    });
    expect(text).not.toMatch(/\u001b/);
    expect(text.split("\n")).toHaveLength(3);
  });
});
