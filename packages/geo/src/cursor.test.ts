import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeIdCursor, decodeNearCursor, encodeIdCursor, encodeNearCursor } from "./cursor.js";

const id = fc.stringMatching(/^[\x21-\x7E]{1,128}$/);

describe("cursors", () => {
  it("round-trip near positions exactly, including the full precision of the distance", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2e7, noNaN: true }), id, (distance, i) => {
        const token = encodeNearCursor({ distance, id: i });
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeNearCursor(token)).toEqual({ distance, id: i });
      }),
    );
  });

  it("round-trip id positions", () => {
    fc.assert(
      fc.property(id, (i) => {
        expect(decodeIdCursor(encodeIdCursor({ id: i }))).toEqual({ id: i });
      }),
    );
  });

  it("never throw anything but VALIDATION_FAILED on arbitrary input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.base64String(), fc.anything()), (token) => {
        for (const decode of [decodeNearCursor, decodeIdCursor]) {
          try {
            decode(token);
          } catch (error) {
            expect(error).toMatchObject({ code: "VALIDATION_FAILED", data: { field: "cursor" } });
          }
        }
      }),
    );
  });
});
