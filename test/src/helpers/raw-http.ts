/**
 * A raw-socket HTTP/1.1 exchange for requests `fetch` refuses to send (broken request lines,
 * bad framing, odd bytes in paths): writes bytes as given and reads back at most one answer.
 */
import { connect } from "node:net";

/** One parsed HTTP answer. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What came back on the socket: an answer, nothing (closed or silent), or bytes that are not HTTP. */
export type RawOutcome =
  | { readonly kind: "answer"; readonly answer: RawAnswer }
  | { readonly kind: "silent"; readonly how: "closed" | "timeout" | "reset" }
  | { readonly kind: "garbled"; readonly bytes: string };

const HEAD_END = Buffer.from("\r\n\r\n");

/** Decodes a chunked body; undefined while it is incomplete. */
function dechunk(raw: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(raw.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    if (raw.length < eol + 2 + size + 2) return undefined;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Parses the first answer in `data`; undefined while it is incomplete (unless `closed`). */
function parse(data: Buffer, closed: boolean): RawOutcome | undefined {
  const end = data.indexOf(HEAD_END);
  if (end < 0) {
    if (!closed) return undefined;
    return data.length === 0
      ? { kind: "silent", how: "closed" }
      : { kind: "garbled", bytes: data.toString("latin1").slice(0, 200) };
  }
  const [statusLine = "", ...lines] = data.subarray(0, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!m) return { kind: "garbled", bytes: data.toString("latin1").slice(0, 200) };
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(end + 4);
  const status = Number(m[1]);
  let body: Buffer | undefined;
  if (status === 100) {
    // An interim answer: the real one follows.
    return parse(rest, closed);
  } else if (headers["content-length"] !== undefined) {
    const n = Number(headers["content-length"]);
    if (rest.length >= n) body = rest.subarray(0, n);
  } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    body = dechunk(rest);
  } else if (closed) {
    body = rest;
  }
  if (body === undefined) {
    if (!closed) return undefined;
    return { kind: "garbled", bytes: data.toString("latin1").slice(0, 200) };
  }
  return { kind: "answer", answer: { status, headers, body: body.toString("utf8") } };
}

/**
 * Opens a connection, writes `chunks` (a pause of `gapMs` between them), and resolves with the
 * first answer, or `silent` when the server closes without one or stays silent for `timeoutMs`.
 */
export function rawExchange(
  port: number,
  chunks: readonly Buffer[],
  options: { timeoutMs?: number; gapMs?: number } = {},
): Promise<RawOutcome> {
  const { timeoutMs = 2000, gapMs = 0 } = options;
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: RawOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "silent", how: "timeout" }), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const outcome = parse(data, false);
      if (outcome) finish(outcome);
    });
    socket.on("error", () =>
      finish(
        data.length > 0
          ? (parse(data, true) ?? { kind: "silent", how: "reset" })
          : { kind: "silent", how: "reset" },
      ),
    );
    socket.on("close", () => finish(parse(data, true) ?? { kind: "silent", how: "closed" }));
    socket.once("connect", () => {
      void (async () => {
        for (const [i, chunk] of chunks.entries()) {
          if (done) return;
          if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
          if (!done) socket.write(chunk);
        }
      })();
    });
  });
}
