import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
} from "mongodb";
import { describe, expect, it } from "vitest";
import { classifyMongoError } from "./mongo-errors.js";

function serverError(code: number, errmsg: string): MongoServerError {
  return new MongoServerError({ code, errmsg, message: errmsg });
}

describe("MongoDB error classification", () => {
  it("maps a duplicate key to CONFLICT without echoing the key", () => {
    const e = classifyMongoError(
      serverError(
        11000,
        'E11000 duplicate key error collection: db.places index: _id_ dup key: { _id: "secret-id" }',
      ),
      "upsert",
    );
    expect(e.code).toBe("CONFLICT");
    expect(e.message).not.toContain("secret");
    expect(JSON.stringify(e.toWire())).not.toContain("secret");
  });

  it("maps a bulk write's first write error", () => {
    const bulk = new MongoBulkWriteError(
      { message: "bulk", code: 65, writeErrors: [] },
      {} as never,
    );
    Object.defineProperty(bulk, "writeErrors", {
      value: [{ code: 16755, errmsg: 'Can\'t extract geo keys: { _id: "x", secret: 1 }' }],
    });
    expect(classifyMongoError(bulk, "upsert").code).toBe("GEO_INVALID_GEOMETRY");
  });

  it("maps refused geometry to GEO_INVALID_GEOMETRY", () => {
    expect(classifyMongoError(serverError(16755, "Can't extract geo keys"), "upsert").code).toBe(
      "GEO_INVALID_GEOMETRY",
    );
    expect(
      classifyMongoError(serverError(2, "Loop is not valid: Edges 0 and 2 cross"), "within").code,
    ).toBe("GEO_INVALID_GEOMETRY");
    expect(classifyMongoError(serverError(2, "unknown top level operator"), "within").code).toBe(
      "INTERNAL",
    );
  });

  it("maps time limits to STORE_TIMEOUT and lost servers to STORE_UNAVAILABLE", () => {
    expect(classifyMongoError(serverError(50, "operation exceeded time limit"), "near").code).toBe(
      "STORE_TIMEOUT",
    );
    expect(
      classifyMongoError(
        new MongoNetworkTimeoutError("connection 3 to 10.0.0.1:27017 timed out"),
        "near",
      ).code,
    ).toBe("STORE_TIMEOUT");
    const lost = classifyMongoError(
      new MongoNetworkError("connection to mongodb://user:pw@10.0.0.1:27017 closed"),
      "near",
    );
    expect(lost.code).toBe("STORE_UNAVAILABLE");
    expect(lost.retryable).toBe(true);
    expect(lost.message).not.toContain("pw@");
    expect(classifyMongoError(serverError(10107, "not primary"), "upsert").code).toBe(
      "STORE_UNAVAILABLE",
    );
    expect(classifyMongoError(serverError(18, "Authentication failed."), "init")).toMatchObject({
      code: "STORE_UNAVAILABLE",
      retryable: false,
    });
  });

  it("maps anything else to INTERNAL and passes GeomeshErrors through", () => {
    expect(classifyMongoError(new Error("boom"), "get").code).toBe("INTERNAL");
    const conflict = classifyMongoError(serverError(11000, "dup"), "x");
    expect(classifyMongoError(conflict, "y")).toBe(conflict);
  });
});
