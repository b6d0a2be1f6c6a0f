import { GeomeshError } from "@geomesh/errors";
import { type Logger, RateLimitedLog, silentLogger } from "@geomesh/logger";
import * as zmq from "zeromq";
import { isZ85Key, z85Encode } from "./z85.js";

/** Where libzmq sends ZAP requests (RFC 27); one handler per context, zeromq.js's global one here. */
export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** The ZAP domain geomesh's sockets use unless told otherwise. */
export const DEFAULT_ZAP_DOMAIN = "geomesh";

const ZAP_VERSION = "1.0";

export interface ZapAuthenticatorOptions {
  /** ZAP domain this authenticator answers for; sockets opt in with `zapDomain` (default "geomesh"). */
  readonly domain?: string;
  /** Z85 public keys allowed from the start. */
  readonly allow?: Iterable<string>;
  readonly logger?: Logger;
}

/** What the authenticator decided, per handshake. */
export interface ZapCounters {
  allowed: number;
  denied: number;
  malformed: number;
}

/** One ZAP request, as RFC 27 frames it (after the REP envelope). */
export interface ZapRequest {
  readonly domain: string;
  readonly address: string;
  readonly mechanism: string;
  readonly credentials: readonly Buffer[];
}

export interface ZapDecision {
  readonly status: "200" | "400" | "500";
  readonly text: string;
  readonly userId: string;
}

/**
 * Allow-lists CURVE public keys for one ZAP domain. libzmq asks the ZAP endpoint about every
 * CURVE handshake on a socket with a `zapDomain`; this answers 200 for listed keys and 400
 * (counted, logged at a rate limit) for everything else. Any number of authenticators, one per
 * domain, share the process's single ZAP socket, which is bound while at least one is started.
 */
export class ZapAuthenticator {
  readonly domain: string;
  readonly counters: ZapCounters = { allowed: 0, denied: 0, malformed: 0 };

  /** This authenticator's logger (component "zap"). */
  readonly log: Logger;
  private readonly keys = new Set<string>();
  private readonly noisy: RateLimitedLog;
  private started = false;

  constructor(options: ZapAuthenticatorOptions = {}) {
    this.domain = options.domain ?? DEFAULT_ZAP_DOMAIN;
    if (!/^[\x21-\x7e]{1,254}$/.test(this.domain))
      throw new GeomeshError(
        "CONFIG_INVALID",
        "ZAP domain must be 1-254 printable ASCII characters without spaces",
      );
    this.log = (options.logger ?? silentLogger).child({
      component: "zap",
      domain: this.domain,
    });
    this.noisy = new RateLimitedLog(this.log);
    if (options.allow) this.allow(...options.allow);
  }

  /** Number of allowed public keys. */
  get size(): number {
    return this.keys.size;
  }

  /** Binds (or shares) the process's ZAP handler and starts answering for this domain. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await sharedHandler.acquire(this);
    } catch (err) {
      this.started = false;
      throw err;
    }
    this.log.info({ allowed: this.keys.size }, "ZAP authenticator started");
  }

  /** Stops answering for this domain; the ZAP socket closes with the last one. Idempotent. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await sharedHandler.release(this);
    this.log.info({ counters: this.counters }, "ZAP authenticator stopped");
  }

  /** Adds Z85 public keys to the allow-list (new handshakes only; live connections stay). */
  allow(...publicKeys: string[]): this {
    for (const key of publicKeys) this.keys.add(checkPublicKey(key));
    return this;
  }

  /** Removes Z85 public keys from the allow-list (new handshakes only; live connections stay). */
  deny(...publicKeys: string[]): this {
    for (const key of publicKeys) this.keys.delete(checkPublicKey(key));
    return this;
  }

  /** Replaces the whole allow-list (e.g. after re-reading a keys directory). */
  setAllowed(publicKeys: Iterable<string>): this {
    const next = [...publicKeys].map(checkPublicKey);
    this.keys.clear();
    for (const key of next) this.keys.add(key);
    return this;
  }

  isAllowed(publicKey: string): boolean {
    return this.keys.has(publicKey);
  }

  /** Decides one ZAP request: only CURVE clients with an allow-listed key get in. */
  check(request: ZapRequest): ZapDecision {
    if (request.mechanism !== "CURVE") {
      this.counters.denied += 1;
      this.noisy.warn(
        { address: request.address, mechanism: request.mechanism },
        "refused connection: only CURVE is accepted",
      );
      return { status: "400", text: "CURVE required", userId: "" };
    }
    const raw = request.credentials[0];
    if (request.credentials.length !== 1 || raw?.length !== 32) {
      this.counters.malformed += 1;
      this.counters.denied += 1;
      this.noisy.warn({ address: request.address }, "refused connection: bad CURVE credentials");
      return { status: "400", text: "bad credentials", userId: "" };
    }
    const publicKey = z85Encode(raw);
    if (!this.keys.has(publicKey)) {
      this.counters.denied += 1;
      // Public keys are not secret: logging them is what lets an operator allow-list one.
      this.noisy.warn(
        { address: request.address, publicKey },
        "refused CURVE client: public key not allowed",
      );
      return { status: "400", text: "public key not allowed", userId: "" };
    }
    this.counters.allowed += 1;
    this.log.debug({ address: request.address, publicKey }, "CURVE client allowed");
    return { status: "200", text: "OK", userId: publicKey };
  }
}

/** Validates one Z85 public key for the allow-list (never echoes the value). */
function checkPublicKey(key: string): string {
  if (!isZ85Key(key))
    throw new GeomeshError(
      "CONFIG_INVALID",
      "allow-list entry is not a CURVE public key (expected 40 Z85 characters)",
    );
  return key;
}

/**
 * The process's one ZAP socket (libzmq allows one handler per context). Authenticators register
 * by domain; the socket is bound when the first starts and closed when the last stops.
 * Operations are serialised so concurrent start/stop calls cannot race the bind/close.
 */
class ZapHandler {
  private readonly domains = new Map<string, ZapAuthenticator>();
  private socket: zmq.Reply | undefined;
  private loop: Promise<void> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** Logs what no authenticator owns, on the first started authenticator's logger. */
  private noisy = new RateLimitedLog(silentLogger);

  acquire(auth: ZapAuthenticator): Promise<void> {
    return this.serially(async () => {
      const other = this.domains.get(auth.domain);
      if (other && other !== auth)
        throw new GeomeshError(
          "CONFIG_INVALID",
          `ZAP domain "${auth.domain}" already has a started authenticator in this process`,
        );
      this.domains.set(auth.domain, auth);
      if (this.domains.size === 1) this.noisy = new RateLimitedLog(auth.log);
      if (this.socket) return;
      try {
        this.socket = await bindZapSocket();
      } catch (err) {
        this.domains.delete(auth.domain);
        throw err;
      }
      this.loop = this.serve(this.socket);
    });
  }

  release(auth: ZapAuthenticator): Promise<void> {
    return this.serially(async () => {
      if (this.domains.get(auth.domain) !== auth) return;
      this.domains.delete(auth.domain);
      const first = this.domains.values().next();
      if (!first.done) this.noisy = new RateLimitedLog(first.value.log);
      if (this.domains.size > 0 || !this.socket) return;
      this.socket.close();
      this.socket = undefined;
      await this.loop;
      this.loop = undefined;
    });
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async serve(socket: zmq.Reply): Promise<void> {
    try {
      for await (const frames of socket) {
        let reply: string[];
        try {
          reply = this.answer(frames);
        } catch {
          reply = [
            ZAP_VERSION,
            frames[1]?.toString("latin1") ?? "",
            "500",
            "internal error",
            "",
            "",
          ];
        }
        // REP must answer every request before it can receive the next one.
        await socket.send(reply);
      }
    } catch (err) {
      if (!socket.closed) this.noisy.warn({ err }, "ZAP handler loop ended");
    }
  }

  private answer(frames: Buffer[]): string[] {
    const [version, requestId, domain, address, , mechanism, ...credentials] = frames;
    const id = requestId?.toString("latin1") ?? "";
    if (version?.toString("latin1") !== ZAP_VERSION || !domain || !mechanism || !address) {
      this.noisy.warn({ frames: frames.length }, "malformed ZAP request");
      return [ZAP_VERSION, id, "500", "malformed ZAP request", "", ""];
    }
    const name = domain.toString("latin1");
    const auth = this.domains.get(name);
    if (!auth) {
      this.noisy.warn(
        { domain: name, address: address.toString("latin1") },
        "refused connection: no authenticator for its ZAP domain",
      );
      return [ZAP_VERSION, id, "400", "unknown domain", "", ""];
    }
    const decision = auth.check({
      domain: name,
      address: address.toString("latin1"),
      mechanism: mechanism.toString("latin1"),
      credentials,
    });
    return [ZAP_VERSION, id, decision.status, decision.text, decision.userId, ""];
  }
}

/**
 * Binds the ZAP endpoint. libzmq unregisters an inproc endpoint asynchronously after close, so
 * a bind right after the previous handler closed may briefly see EADDRINUSE: retry a little.
 */
async function bindZapSocket(): Promise<zmq.Reply> {
  for (let attempt = 0; ; attempt++) {
    const socket = new zmq.Reply({ linger: 0 });
    try {
      await socket.bind(ZAP_ENDPOINT);
      return socket;
    } catch (err) {
      socket.close();
      if ((err as { code?: string }).code === "EADDRINUSE" && attempt < 40) {
        await new Promise((r) => setTimeout(r, 25));
        continue;
      }
      throw new GeomeshError(
        "CONFIG_INVALID",
        `cannot bind the ZAP handler at ${ZAP_ENDPOINT}: another ZAP handler is bound in this process`,
        { cause: err },
      );
    }
  }
}

const sharedHandler = new ZapHandler();
