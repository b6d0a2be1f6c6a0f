import { describe, expect, it } from "vitest";
import { errorTable, ErrorCode } from "./codes.js";
import { GeomeshError, errorFromWire, isGeomeshError, toGeomeshError } from "./geomesh-error.js";

describe("GeomeshError", () => {
  it("takes status and retry hint from the table", () => {
    const err = new GeomeshError("QUEUE_FULL", "queue is full", { data: { retryAfterMs: 500 } });
    expect(err.status).toBe(503);
    expect(err.retryable).toBe(true);
    expect(err.toWire()).toEqual({
      error: {
        code: "QUEUE_FULL",
        message: "queue is full",
        retryable: true,
        data: { retryAfterMs: 500 },
      },
      status: 503,
    });
  });

  it("round-trips every code through its wire body", () => {
    for (const code of Object.values(ErrorCode)) {
      const back = errorFromWire(JSON.parse(JSON.stringify(new GeomeshError(code, `m ${code}`))));
      expect(back.code).toBe(code);
      expect(back.status).toBe(errorTable[code].status);
      expect(back.message).toBe(`m ${code}`);
      expect(isGeomeshError(back)).toBe(true);
    }
  });

  it("turns unknown or hostile bodies into MALFORMED_REPLY", () => {
    for (const body of [
      null,
      42,
      "x",
      {},
      { error: "x" },
      { error: { code: "NOPE", message: "m" } },
      { error: { code: "__proto__", message: "m" } },
    ]) {
      expect(errorFromWire(body).code).toBe("MALFORMED_REPLY");
    }
  });

  it("never leaks an unexpected error's message on the wire", () => {
    const err = toGeomeshError(new Error("secret connection string mongodb://u:p@h"));
    expect(err.code).toBe("INTERNAL");
    expect(JSON.stringify(err.toWire())).not.toContain("secret");
  });
});
