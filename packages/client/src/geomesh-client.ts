import { GeomeshError, errorFromWire } from "@geomesh/errors";
import type { Logger } from "@geomesh/logger";
import {
  Client,
  type CurveOptions,
  type HeartbeatOptions,
  type Reply,
  type RequestOptions,
  type SocketLimits,
} from "@geomesh/protocol";

export interface GeomeshClientOptions {
  /** A broker's frontend endpoint, e.g. `tcp://127.0.0.1:7100`. Any broker is an entry point. */
  readonly endpoint: string;
  /** Default per-request timeout (ms); default 30 s. */
  readonly timeoutMs?: number;
  readonly heartbeat?: Partial<HeartbeatOptions>;
  readonly limits?: SocketLimits;
  readonly curve?: CurveOptions;
  readonly logger?: Logger;
}

export type CallOptions = RequestOptions;

/**
 * The app SDK: JSON in, JSON out, over the GMP dialect. Non-200 replies become typed
 * `GeomeshError`s (code, status, retryable) rebuilt from the wire body.
 */
export class GeomeshClient {
  private readonly client: Client;

  constructor(options: GeomeshClientOptions) {
    this.client = new Client({
      endpoint: options.endpoint,
      ...(options.timeoutMs === undefined ? {} : { defaultTimeoutMs: options.timeoutMs }),
      ...(options.heartbeat === undefined ? {} : { heartbeat: options.heartbeat }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.curve === undefined ? {} : { curve: options.curve }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }

  /** Calls `service` with a JSON body and resolves with the parsed JSON reply. */
  async request<T = unknown>(
    service: string,
    body: unknown,
    options: CallOptions = {},
  ): Promise<T> {
    const reply = await this.client.request(service, encode(body), options);
    return decode<T>(reply, service);
  }

  /** Calls `service` and yields each streamed part (PARTIALs, then the FINAL if it has a body). */
  async *stream<T = unknown>(
    service: string,
    body: unknown,
    options: CallOptions = {},
  ): AsyncGenerator<T, void, undefined> {
    for await (const part of this.client.stream(service, encode(body), options)) {
      if (part.final && part.status === 200 && part.body.every((b) => b.length === 0)) return;
      yield decode<T>(part, service);
    }
  }

  /** The raw reply (status and body frames) without JSON handling. */
  requestRaw(
    service: string,
    body: Buffer | string | readonly Buffer[],
    options: CallOptions = {},
  ): Promise<Reply> {
    return this.client.request(service, body, options);
  }

  /** Requests still waiting for a reply. */
  get pending(): number {
    return this.client.pending;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function encode(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  const text = JSON.stringify(body ?? null);
  return Buffer.from(text);
}

function decode<T>(reply: Reply, service: string): T {
  const text = Buffer.concat(reply.body).toString("utf8");
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? null : JSON.parse(text);
  } catch (cause) {
    if (reply.status !== 200)
      throw new GeomeshError(
        "MALFORMED_REPLY",
        `${service} answered ${reply.status} with a non-JSON body`,
        { cause },
      );
    throw new GeomeshError("MALFORMED_REPLY", `${service} answered with a body that is not JSON`, {
      cause,
    });
  }
  if (reply.status !== 200) throw errorFromWire(parsed, reply.status);
  return parsed as T;
}
