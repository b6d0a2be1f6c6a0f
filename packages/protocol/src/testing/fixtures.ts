import type * as zmq from "zeromq";
import { Broker, type BrokerOptions } from "../broker.js";
import { Client, type ClientOptions } from "../client.js";
import { Worker, type WorkerOptions } from "../worker.js";
import { type Transport, uniqueAddress } from "./index.js";

/** Fast heartbeats so liveness tests take a fraction of a second. */
export const FAST_HEARTBEAT = { intervalMs: 100, liveness: 3 } as const;

/** Starts a broker on fresh endpoints of the given transport. */
export async function startBroker(
  transport: Transport,
  options: Partial<BrokerOptions> = {},
): Promise<Broker> {
  const broker = new Broker({
    frontend: uniqueAddress(transport, "fe"),
    backend: uniqueAddress(transport, "be"),
    heartbeat: FAST_HEARTBEAT,
    ...options,
  });
  await broker.start();
  return broker;
}

/** Starts a GMP worker against `broker` and waits for its UP to be acknowledged. */
export async function startWorker(
  broker: Broker,
  options: Partial<WorkerOptions> & Pick<WorkerOptions, "services">,
): Promise<Worker> {
  const worker = new Worker({
    endpoint: broker.endpoints.backend,
    heartbeat: FAST_HEARTBEAT,
    reconnect: { initialMs: 50, maxMs: 400 },
    ...options,
  });
  worker.start();
  await worker.ready();
  return worker;
}

export function startClient(broker: Broker, options: Partial<ClientOptions> = {}): Client {
  return new Client({ endpoint: broker.endpoints.frontend, heartbeat: FAST_HEARTBEAT, ...options });
}

/** Receives one message or fails after `timeoutMs`. */
export async function receiveWithin(
  socket: zmq.Readable & zmq.Socket,
  timeoutMs = 2000,
): Promise<Buffer[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return (await Promise.race([
      socket.receive(),
      new Promise(
        (_, reject) =>
          (timer = setTimeout(
            () => reject(new Error(`no message within ${timeoutMs} ms`)),
            timeoutMs,
          )),
      ),
    ])) as Buffer[];
  } finally {
    clearTimeout(timer);
  }
}

export const text = (frames: readonly Buffer[]): string[] =>
  frames.map((f) => f.toString("latin1"));

/** Closes everything given, ignoring what is already closed. */
export async function closeAll(
  ...things: ({ stop(): Promise<void> } | { close(): Promise<void> | void } | undefined)[]
): Promise<void> {
  for (const t of things.reverse()) {
    if (!t) continue;
    if ("stop" in t) await t.stop();
    else await t.close();
  }
}
