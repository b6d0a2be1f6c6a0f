import { describe, expect, it } from "vitest";
import { escapeRegex, mongoFilter } from "./mongo-filter.js";

describe("filter → MongoDB query", () => {
  it("translates each allow-listed clause under a fixed operator", () => {
    expect(mongoFilter(undefined)).toEqual({});
    expect(
      mongoFilter({
        category: ["cafe", "bar"],
        tags: ["wifi", "outdoor"],
        namePrefix: "Caf",
        updatedAt: { from: "2024-01-01T00:00:00.000Z", to: "2025-01-01T00:00:00.000Z" },
      }),
    ).toEqual({
      category: { $in: ["cafe", "bar"] },
      tags: { $all: ["wifi", "outdoor"] },
      name: { $regex: "^Caf" },
      updatedAt: { $gte: "2024-01-01T00:00:00.000Z", $lt: "2025-01-01T00:00:00.000Z" },
    });
    expect(mongoFilter({ category: "cafe" })).toEqual({ category: { $eq: "cafe" } });
  });

  it("keeps operator-looking values as plain strings", () => {
    expect(mongoFilter({ category: "$where" })).toEqual({ category: { $eq: "$where" } });
    expect(mongoFilter({ namePrefix: ".*(a+)+$" })).toEqual({
      name: { $regex: "^\\.\\*\\(a\\+\\)\\+\\$" },
    });
  });

  it("escapes every regex metacharacter", () => {
    const nasty = "a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o/p-q";
    expect(new RegExp(`^${escapeRegex(nasty)}$`).test(nasty)).toBe(true);
  });
});
