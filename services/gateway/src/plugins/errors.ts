import { GeomeshError, isGeomeshError } from "@geomesh/errors";
import type { FastifyError, FastifyInstance } from "fastify";
import fp from "fastify-plugin";

/**
 * Maps every failure to the geomesh error body (`{"error":{code,message,…},"status"}`):
 * GeomeshErrors keep their status; Fastify's own input errors become 400s with a clear code;
 * anything unexpected is a 500 whose details stay in the log.
 */
export default fp(
  function errorsPlugin(app: FastifyInstance, _opts: unknown, done: () => void) {
    app.setErrorHandler((err: FastifyError | GeomeshError | Error, request, reply) => {
      let out: GeomeshError;
      if (isGeomeshError(err)) out = err;
      else if ((err as FastifyError).code === "FST_ERR_CTP_BODY_TOO_LARGE")
        out = new GeomeshError("LIMIT_EXCEEDED", "request body is larger than 1 MiB");
      else if ((err as FastifyError).code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
        out = new GeomeshError("BAD_REQUEST", "unsupported content type; send application/json");
      else if (
        ["FST_ERR_CTP_EMPTY_JSON_BODY", "FST_ERR_CTP_INVALID_JSON_BODY"].includes(
          (err as FastifyError).code,
        ) ||
        err instanceof SyntaxError
      )
        out = new GeomeshError("BAD_REQUEST", "body is not valid JSON");
      else if ((err as FastifyError).validation)
        out = new GeomeshError("VALIDATION_FAILED", err.message);
      else if (
        typeof (err as FastifyError).statusCode === "number" &&
        (err as FastifyError).statusCode! < 500
      )
        out = new GeomeshError("BAD_REQUEST", err.message);
      else {
        request.log.error({ err }, "request failed");
        out = new GeomeshError("INTERNAL", "internal error");
      }
      if (out.status >= 500) request.log.warn({ code: out.code }, out.message);
      const retryAfter = out.data?.retryAfterMs;
      if (typeof retryAfter === "number")
        void reply.header("retry-after", Math.max(1, Math.ceil(retryAfter / 1000)));
      return reply.status(out.status === 499 ? 400 : out.status).send(out.toWire());
    });
    app.setNotFoundHandler((request, reply) =>
      reply
        .status(404)
        .send(
          new GeomeshError(
            "NOT_FOUND",
            `no route ${request.method} ${request.url.split("?")[0]}`,
          ).toWire(),
        ),
    );
    done();
  },
  { name: "geomesh-errors" },
);
