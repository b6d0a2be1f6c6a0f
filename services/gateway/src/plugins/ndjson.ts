import { Readable } from "node:stream";
import { GeomeshError, isGeomeshError } from "@geomesh/errors";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

export const NDJSON = "application/x-ndjson";

/** A streamed result stops after this many features, ending with the cursor to go on from. */
export const STREAM_MAX_FEATURES = 100_000;

/** Accepts NDJSON bodies (`application/x-ndjson`, `application/ndjson`) as text, within the body limit. */
export default fp(
  function ndjsonPlugin(app: FastifyInstance, _opts: unknown, done: () => void) {
    app.addContentTypeParser(
      [NDJSON, "application/ndjson"],
      { parseAs: "string" },
      (_request, body, next) => next(null, body),
    );
    done();
  },
  { name: "geomesh-ndjson" },
);

/** True when the client asked for NDJSON (`Accept: application/x-ndjson`). */
export function wantsNdjson(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === "string" && /application\/(x-)?ndjson/i.test(accept);
}

interface Page {
  readonly features: readonly unknown[];
  readonly next?: string;
  /** Regions that did not answer this page (the page is partial). */
  readonly unavailable?: readonly string[];
}

/**
 * Streams a whole result as NDJSON: one Feature per line, page after page (each page fetched
 * only when the client has read the previous one), then an `End` line with the count — and the
 * cursor to continue from when the cap was reached, and `partial`/`unavailable` when some region
 * did not answer a page. The first page is fetched before anything is
 * sent, so a bad query still gets its 4xx status; a later error cannot change the status any
 * more, so it becomes the last line, in the usual error body.
 */
export async function sendNdjsonPages(
  reply: FastifyReply,
  page: (cursor: string | undefined) => Promise<Page>,
): Promise<FastifyReply> {
  let p = await page(undefined);
  async function* lines(): AsyncGenerator<string> {
    let count = 0;
    const unavailable = new Set<string>();
    try {
      for (;;) {
        if (p.features.length > 0) yield p.features.map((f) => `${JSON.stringify(f)}\n`).join("");
        count += p.features.length;
        for (const r of p.unavailable ?? []) unavailable.add(r);
        if (p.next === undefined || count >= STREAM_MAX_FEATURES) break;
        p = await page(p.next);
      }
      const cursor = p.next;
      const end = {
        type: "End",
        count,
        ...(cursor === undefined ? {} : { next: cursor }),
        ...(unavailable.size > 0 ? { partial: true, unavailable: [...unavailable] } : {}),
      };
      yield `${JSON.stringify(end)}\n`;
    } catch (err) {
      const e = isGeomeshError(err) ? err : new GeomeshError("INTERNAL", "internal error");
      if (!isGeomeshError(err)) reply.log.error({ err }, "stream failed");
      yield `${JSON.stringify(e.toWire())}\n`;
    }
  }
  return reply.type(NDJSON).send(Readable.from(lines(), { objectMode: false }));
}
