import { describe, expect, it } from "vitest";
import { parseSleepBody } from "./sys-sleep.js";

describe("sys.sleep body", () => {
  it("accepts {ms} objects and bare numbers", () => {
    expect(parseSleepBody(Buffer.from('{"ms":10}'))).toBe(10);
    expect(parseSleepBody(Buffer.from("25"))).toBe(25);
  });

  it("rejects hostile or out-of-range bodies with a clear error", () => {
    for (const body of [
      "",
      "nope",
      '{"ms":-1}',
      '{"ms":1e9}',
      '{"ms":"5"}',
      "[5]",
      '{"ms":1.5}',
      "null",
    ]) {
      expect(() => parseSleepBody(Buffer.from(body)), body).toThrow(
        /sys.sleep body must be JSON|ms must be an integer/,
      );
    }
  });
});
