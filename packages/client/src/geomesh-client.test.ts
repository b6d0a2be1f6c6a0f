import { Broker, Worker } from "@geomesh/protocol";
import { TRANSPORTS, uniqueAddress } from "@geomesh/protocol/testing";
import { GeomeshError } from "@geomesh/errors";
import { afterEach, describe, expect, it } from "vitest";
import { GeomeshClient } from "./geomesh-client.js";

const HB = { intervalMs: 100, liveness: 3 };

describe.each(TRANSPORTS)("GeomeshClient over %s", (transport) => {
  let broker: Broker;
  let worker: Worker;
  let client: GeomeshClient;
  afterEach(async () => {
    await client.close();
    await worker.stop(0);
    await broker.stop(0);
  });

  async function setup(): Promise<void> {
    broker = new Broker({
      frontend: uniqueAddress(transport),
      backend: uniqueAddress(transport),
      heartbeat: HB,
    });
    await broker.start();
    worker = new Worker({
      endpoint: broker.endpoints.backend,
      heartbeat: HB,
      concurrency: 4,
      services: {
        "sys.echo": (r) => r.body,
        "t.fail": () => {
          throw new GeomeshError("NOT_FOUND", "no place with id x");
        },
        "t.parts": (r) => {
          r.partial(JSON.stringify({ n: 1 }));
          r.partial(JSON.stringify({ n: 2 }));
          return JSON.stringify({ n: 3 });
        },
      },
    });
    worker.start();
    await worker.ready();
    client = new GeomeshClient({ endpoint: broker.endpoints.frontend, heartbeat: HB });
  }

  it("round-trips JSON bodies", async () => {
    await setup();
    expect(await client.request("sys.echo", { a: [1, 2], b: "ü" })).toEqual({ a: [1, 2], b: "ü" });
  });

  it("rejects with a typed error rebuilt from the reply", async () => {
    await setup();
    const err = await client.request("t.fail", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GeomeshError);
    expect(err).toMatchObject({
      code: "NOT_FOUND",
      status: 404,
      retryable: false,
      message: "no place with id x",
    });
  });

  it("yields streamed parts with for await", async () => {
    await setup();
    const got: unknown[] = [];
    for await (const part of client.stream("t.parts", {})) got.push(part);
    expect(got).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("times out locally with TIMEOUT when no broker answers", async () => {
    await setup();
    const lonely = new GeomeshClient({
      endpoint: transport === "tcp" ? "tcp://127.0.0.1:1" : uniqueAddress("inproc"),
      heartbeat: HB,
    });
    await expect(lonely.request("sys.echo", {}, { timeoutMs: 100 })).rejects.toMatchObject({
      code: "TIMEOUT",
      status: 408,
    });
    await lonely.close();
  });
});
