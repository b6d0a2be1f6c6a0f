/**
 * Calibration for the broker benchmark: a bare relay with no logic at all (own process) — a
 * ROUTER for clients, a DEALER to the echo server — so the bench shows what four socket hops
 * cost in Node before any broker work. Prints its frontend endpoint.
 */
import * as zmq from "zeromq";

const backend = process.argv[2];
if (backend === undefined) throw new Error("usage: relay-server <echo endpoint>");
const options = {
  sendTimeout: 0,
  sendHighWaterMark: 100_000,
  receiveHighWaterMark: 100_000,
  linger: 0,
};
const front = new zmq.Router(options);
const back = new zmq.Dealer(options);
back.connect(backend);
await front.bind("tcp://127.0.0.1:*");
process.stdout.write(`${front.lastEndpoint}\n`);
process.on("SIGTERM", () => {
  front.close();
  back.close();
  process.exit(0);
});
// The echo server answers [client identity, id, body] back to this DEALER unchanged.
void (async () => {
  for await (const msg of back) front.send(msg).catch(() => undefined);
})();
for await (const msg of front) back.send(msg).catch(() => undefined);
