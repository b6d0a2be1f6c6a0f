import rateLimit from "@fastify/rate-limit";
import { GeomeshError } from "@geomesh/errors";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

export interface RateLimitOptions {
  /** Requests per window per client address; 0 turns the limit off. */
  readonly max: number;
  readonly windowMs: number;
}

/**
 * Per-client-address rate limit (in-memory, per gateway process). Past it: 429 RATE_LIMITED with
 * Retry-After. Health, readiness and metrics routes opt out with `config: { rateLimit: false }`.
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance, opts: RateLimitOptions) {
    if (opts.max === 0) return;
    await app.register(rateLimit, {
      global: true,
      max: opts.max,
      timeWindow: opts.windowMs,
      errorResponseBuilder: (_request, context) =>
        new GeomeshError(
          "RATE_LIMITED",
          `more than ${context.max} requests in ${opts.windowMs} ms from this address; retry in ${context.after}`,
          { data: { retryAfterMs: context.ttl } },
        ),
    });
  },
  { name: "geomesh-rate-limit" },
);
