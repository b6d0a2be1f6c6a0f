import websocket from "@fastify/websocket";
import type { FastifyInstance } from "fastify";
import type { LiveHub } from "../live/live-hub.js";

/** Largest client message (a subscription with a big polygon fits easily). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * `WS /v1/live`: JSON text frames — `{"op":"subscribe","id","area","filter"?}`,
 * `{"op":"unsubscribe","id"}`, `{"op":"ping"}` in; `subscribed`, `event`, `gap`, `dropped`,
 * `error`, `pong` out (docs/protocol.md). Binary frames are refused.
 */
export function liveRoutes(hub: LiveHub) {
  return async function routes(app: FastifyInstance): Promise<void> {
    await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES } });
    app.get(
      "/v1/live",
      // The upgrade counts against the rate limit like any request, so a client cannot open
      // sockets without bound.
      { websocket: true, schema: { hide: true } },
      (socket) => {
        const session = hub.open(socket);
        socket.on("message", (data, isBinary) => {
          if (isBinary) {
            socket.send(
              JSON.stringify({
                type: "error",
                error: { code: "BAD_REQUEST", message: "send JSON text frames", retryable: false },
                status: 400,
              }),
            );
            return;
          }
          const text = Array.isArray(data)
            ? Buffer.concat(data).toString("utf8")
            : Buffer.isBuffer(data)
              ? data.toString("utf8")
              : Buffer.from(data).toString("utf8");
          void hub.onMessage(session, text);
        });
        socket.on("close", () => hub.close(session));
        socket.on("error", () => hub.close(session));
      },
    );
  };
}
