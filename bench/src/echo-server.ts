/** Baseline for the broker benchmark: a bare ROUTER that echoes every message (own process). */
import * as zmq from "zeromq";

const endpoint = process.argv[2] ?? "tcp://127.0.0.1:*";
const router = new zmq.Router({
  sendTimeout: 0,
  sendHighWaterMark: 100_000,
  receiveHighWaterMark: 100_000,
  linger: 0,
});
await router.bind(endpoint);
process.stdout.write(`${router.lastEndpoint}\n`);
process.on("SIGTERM", () => {
  router.close();
  process.exit(0);
});
for await (const msg of router) router.send(msg).catch(() => undefined);
