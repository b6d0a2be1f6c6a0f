import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type GeomeshError, isGeomeshError } from "@geomesh/errors";
import { createLogger } from "@geomesh/logger";
import * as zmq from "zeromq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Broker } from "./broker.js";
import type { Client } from "./client.js";
import {
  CURVE_ENV,
  curveClientOptions,
  curveServerOptions,
  derivePublicKey,
  generateKeyPair,
  keyPairFromEnv,
  readKeyPair,
  readPublicKey,
  readPublicKeys,
  serverKeyFromEnv,
  writeKeyPair,
} from "./security.js";
import {
  FAST_HEARTBEAT,
  closeAll,
  receiveWithin,
  startBroker,
  startClient,
  startWorker,
} from "./testing/fixtures.js";
import { Worker } from "./worker.js";
import { ZapAuthenticator } from "./zap-authenticator.js";
import { isZ85Key, z85Decode, z85Encode } from "./z85.js";

/** Runs `fn` and returns the GeomeshError it throws. */
function thrown(fn: () => unknown): GeomeshError {
  try {
    fn();
  } catch (err) {
    if (isGeomeshError(err)) return err;
    throw err;
  }
  throw new Error("expected a GeomeshError");
}

const echo = { "sys.echo": (req: { body: Buffer[] }) => req.body };

describe("Z85", () => {
  it("encodes and decodes the RFC 32 test vector", () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe("HelloWorld");
    expect(z85Decode("HelloWorld")).toEqual(bytes);
  });

  it("rejects text that is not Z85", () => {
    expect(z85Decode("Hello")).toBeDefined();
    expect(z85Decode("Hell")).toBeUndefined();
    expect(z85Decode("Hell~")).toBeUndefined();
    expect(z85Decode("%%%%%")).toBeUndefined(); // more than 32 bits
    expect(isZ85Key("x".repeat(39))).toBe(false);
  });
});

describe("CURVE keys", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "geomesh-keys-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("generates Z85 key pairs whose public key derives from the secret", () => {
    const pair = generateKeyPair();
    expect(isZ85Key(pair.publicKey)).toBe(true);
    expect(isZ85Key(pair.secretKey)).toBe(true);
    expect(derivePublicKey(pair.secretKey)).toBe(pair.publicKey);
  });

  it("round-trips a key pair through <name>.key (0600) and <name>.pub", () => {
    const files = writeKeyPair(dir, "broker");
    expect(files.secretFile).toBe(join(dir, "broker.key"));
    expect(statSync(files.secretFile).mode & 0o777).toBe(0o600);
    expect(statSync(files.publicFile).mode & 0o777).toBe(0o644);
    const pair = readKeyPair(dir, "broker");
    expect(pair.publicKey).toBe(files.publicKey);
    expect(readPublicKey(dir, "broker")).toBe(files.publicKey);
    expect(readFileSync(files.publicFile, "utf8")).not.toContain(pair.secretKey);
  });

  it("refuses to overwrite key files unless forced", () => {
    const first = writeKeyPair(dir, "client");
    const err = thrown(() => writeKeyPair(dir, "client"));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("client.key");
    expect(readPublicKey(dir, "client")).toBe(first.publicKey);
    const second = writeKeyPair(dir, "client", { force: true });
    expect(second.publicKey).not.toBe(first.publicKey);
    expect(statSync(second.secretFile).mode & 0o777).toBe(0o600);
  });

  it("lists every *.pub of a directory as the allow-list", () => {
    const a = writeKeyPair(dir, "broker");
    const b = writeKeyPair(dir, "worker-1");
    writeFileSync(join(dir, "notes.txt"), "not a key");
    expect(readPublicKeys(dir).map((e) => [e.name, e.publicKey])).toEqual([
      ["broker", a.publicKey],
      ["worker-1", b.publicKey],
    ]);
  });

  it("reports bad key files as CONFIG_INVALID naming the file, never the secret", () => {
    const { secretKey } = generateKeyPair();
    const file = join(dir, "bad.key");
    writeFileSync(file, `${secretKey.slice(0, 30)}\n`);
    let err = thrown(() => readKeyPair(dir, "bad"));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toContain(file);
    expect(err.message).toContain("got 30");
    expect(err.message).not.toContain(secretKey.slice(0, 30));

    writeFileSync(file, `${"~".repeat(40)}\n`);
    err = thrown(() => readKeyPair(dir, "bad"));
    expect(err.message).toMatch(/bad\.key: not a CURVE secret key \(not valid Z85\)/);

    writeFileSync(file, `# comment\n${secretKey}\n${secretKey}\n`);
    expect(thrown(() => readKeyPair(dir, "bad")).message).toContain("found 2");

    err = thrown(() => readKeyPair(dir, "missing"));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toContain("missing.key: no such secret key file");

    writeFileSync(file, `${secretKey}\n`);
    writeFileSync(join(dir, "bad.pub"), `${generateKeyPair().publicKey}\n`);
    err = thrown(() => readKeyPair(dir, "bad"));
    expect(err.message).toContain("bad.pub does not belong to");
    expect(err.message).not.toContain(secretKey);

    expect(thrown(() => writeKeyPair(dir, "../escape")).code).toBe("CONFIG_INVALID");
  });

  it("reads keys from the environment and validates them", () => {
    const pair = generateKeyPair();
    const server = generateKeyPair();
    expect(keyPairFromEnv({})).toBeUndefined();
    expect(
      keyPairFromEnv({
        [CURVE_ENV.secretKey]: pair.secretKey,
        [CURVE_ENV.publicKey]: pair.publicKey,
      }),
    ).toEqual(pair);
    // The public key is derived when only the secret is given.
    expect(keyPairFromEnv({ [CURVE_ENV.secretKey]: pair.secretKey })).toEqual(pair);
    expect(serverKeyFromEnv({ [CURVE_ENV.serverKey]: server.publicKey })).toBe(server.publicKey);

    let err = thrown(() => keyPairFromEnv({ [CURVE_ENV.secretKey]: "short-secret" }));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toContain("GEOMESH_CURVE_SECRET_KEY");
    expect(err.message).not.toContain("short-secret");
    err = thrown(() => keyPairFromEnv({ [CURVE_ENV.publicKey]: pair.publicKey }));
    expect(err.message).toContain("GEOMESH_CURVE_SECRET_KEY is not");
    err = thrown(() =>
      keyPairFromEnv({
        [CURVE_ENV.secretKey]: pair.secretKey,
        [CURVE_ENV.publicKey]: server.publicKey,
      }),
    );
    expect(err.message).toContain("GEOMESH_CURVE_PUBLIC_KEY does not belong");
    err = thrown(() => serverKeyFromEnv({ [CURVE_ENV.serverKey]: "nope" }));
    expect(err.message).toContain("GEOMESH_CURVE_SERVER_KEY");
  });

  it("builds socket options for servers and clients", () => {
    const server = generateKeyPair();
    const client = generateKeyPair();
    expect(curveServerOptions(server, "d1")).toEqual({
      curveServer: true,
      curveSecretKey: server.secretKey,
      zapDomain: "d1",
      zapEnforceDomain: true,
    });
    expect(curveClientOptions(client, server.publicKey)).toEqual({
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
      curveServerKey: server.publicKey,
    });
    expect(thrown(() => curveClientOptions(client, "x")).code).toBe("CONFIG_INVALID");
  });
});

describe("ZapAuthenticator", () => {
  it("answers only for allow-listed CURVE keys", () => {
    const key = generateKeyPair().publicKey;
    const auth = new ZapAuthenticator({ domain: "unit", allow: [key] });
    const raw = z85Decode(key)!;
    const req = { domain: "unit", address: "127.0.0.1", mechanism: "CURVE" };
    expect(auth.check({ ...req, credentials: [raw] })).toMatchObject({
      status: "200",
      userId: key,
    });
    auth.deny(key);
    expect(auth.check({ ...req, credentials: [raw] }).status).toBe("400");
    expect(auth.check({ ...req, mechanism: "NULL", credentials: [] }).status).toBe("400");
    expect(auth.check({ ...req, credentials: [Buffer.alloc(5)] }).status).toBe("400");
    expect(auth.counters).toEqual({ allowed: 1, denied: 3, malformed: 1 });
    expect(() => auth.allow("not a key")).toThrow(/not a CURVE public key/);
  });

  it("logs refusals at a rate limit, with the refused public key", () => {
    const lines: { msg: string; publicKey?: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string; publicKey?: string });
        done();
      },
    });
    const logger = createLogger({ name: "test", level: "warn", destination });
    const auth = new ZapAuthenticator({ domain: "noisy", logger });
    const stranger = generateKeyPair().publicKey;
    for (let i = 0; i < 50; i++)
      auth.check({
        domain: "noisy",
        address: "10.0.0.1",
        mechanism: "CURVE",
        credentials: [z85Decode(stranger)!],
      });
    expect(auth.counters.denied).toBe(50);
    const refusals = lines.filter((l) => l.msg.includes("public key not allowed"));
    expect(refusals.length).toBe(10);
    expect(refusals[0]?.publicKey).toBe(stranger);
  });

  it("shares one ZAP socket between authenticators and rebinds after the last stops", async () => {
    const a = new ZapAuthenticator({ domain: "share-a" });
    const b = new ZapAuthenticator({ domain: "share-b" });
    await Promise.all([a.start(), b.start(), a.start()]);
    const twin = new ZapAuthenticator({ domain: "share-a" });
    await expect(twin.start()).rejects.toThrow(/already has a started authenticator/);
    await a.stop();
    await b.stop();
    await b.stop();
    // A fresh handler can bind the endpoint again.
    await a.start();
    await a.stop();
  });
});

describe("CURVE over tcp", () => {
  const serverKeys = generateKeyPair();
  const clientKeys = generateKeyPair();
  const workerKeys = generateKeyPair();
  let seq = 0;
  let auth: ZapAuthenticator;
  let broker: Broker;
  let worker: Worker | undefined;
  let calls: number;
  const clients: Client[] = [];

  beforeEach(async () => {
    calls = 0;
    auth = new ZapAuthenticator({
      domain: `test-${process.pid}-${seq++}`,
      allow: [clientKeys.publicKey, workerKeys.publicKey],
    });
    await auth.start();
    broker = await startBroker("tcp", { curve: curveServerOptions(serverKeys, auth.domain) });
    worker = await startWorker(broker, {
      services: {
        "sys.echo": (req) => {
          calls += 1;
          return req.body;
        },
      },
      curve: curveClientOptions(workerKeys, serverKeys.publicKey),
    });
  });

  afterEach(async () => {
    await closeAll(broker, worker, ...clients.splice(0));
    await auth.stop();
  });

  const client = (curve: Parameters<typeof startClient>[1] = {}): Client => {
    const c = startClient(broker, { defaultTimeoutMs: 300, ...curve });
    clients.push(c);
    return c;
  };

  it("serves allow-listed clients and workers through a CURVE broker", async () => {
    const c = client({ curve: curveClientOptions(clientKeys, serverKeys.publicKey) });
    const reply = await c.request("sys.echo", "secret hello");
    expect(reply.status).toBe(200);
    expect(Buffer.concat(reply.body).toString()).toBe("secret hello");
    expect(broker.status().workers).toHaveLength(1);
    expect(auth.counters.allowed).toBeGreaterThanOrEqual(2);
    expect(auth.counters.denied).toBe(0);
  });

  it("refuses a client with an unknown key: its request never reaches a worker", async () => {
    const stranger = generateKeyPair();
    const c = client({ curve: curveClientOptions(stranger, serverKeys.publicKey) });
    const err: unknown = await c.request("sys.echo", "let me in").catch((e: unknown) => e);
    expect(isGeomeshError(err) && err.code).toBe("TIMEOUT");
    expect(calls).toBe(0);
    expect(broker.counters.requests).toBe(0);
    expect(auth.counters.denied).toBeGreaterThanOrEqual(1);
  });

  it("refuses a worker with an unknown key: it never registers", async () => {
    const rogue = new Worker({
      endpoint: broker.endpoints.backend,
      services: echo,
      heartbeat: FAST_HEARTBEAT,
      reconnect: { initialMs: 50, maxMs: 100 },
      curve: curveClientOptions(generateKeyPair(), serverKeys.publicKey),
    });
    rogue.start();
    try {
      await expect(rogue.ready(400)).rejects.toThrow(/did not acknowledge UP/);
      expect(broker.status().workers).toHaveLength(1);
      expect(auth.counters.denied).toBeGreaterThanOrEqual(1);
    } finally {
      await rogue.stop(0);
    }
  });

  it("does not talk to a plaintext client", async () => {
    const c = client();
    const err: unknown = await c.request("sys.echo", "plain").catch((e: unknown) => e);
    expect(isGeomeshError(err) && err.code).toBe("TIMEOUT");
    // A stock 7/MDP client without CURVE gets nothing either.
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(broker.endpoints.frontend);
    try {
      await dealer.send(["", "MDPC01", "sys.echo", "plain"]);
      await expect(receiveWithin(dealer, 300)).rejects.toThrow(/no message/);
    } finally {
      dealer.close();
    }
    expect(broker.counters.requests).toBe(0);
    expect(calls).toBe(0);
  });

  it("does not talk to a client that expects another server key", async () => {
    const c = client({ curve: curveClientOptions(clientKeys, generateKeyPair().publicKey) });
    const err: unknown = await c.request("sys.echo", "mitm?").catch((e: unknown) => e);
    expect(isGeomeshError(err) && err.code).toBe("TIMEOUT");
    expect(calls).toBe(0);
  });

  it("applies deny() to new connections", async () => {
    auth.deny(clientKeys.publicKey);
    const c = client({ curve: curveClientOptions(clientKeys, serverKeys.publicKey) });
    const err: unknown = await c.request("sys.echo", "revoked").catch((e: unknown) => e);
    expect(isGeomeshError(err) && err.code).toBe("TIMEOUT");
    expect(auth.counters.denied).toBeGreaterThan(0);
    auth.allow(clientKeys.publicKey);
    const again = client({ curve: curveClientOptions(clientKeys, serverKeys.publicKey) });
    expect((await again.request("sys.echo", "back")).status).toBe(200);
  });

  it("fails closed when no authenticator answers for the broker's domain", async () => {
    const orphan = await startBroker("tcp", {
      curve: curveServerOptions(serverKeys, "nobody-answers-this-domain"),
    });
    const c = startClient(orphan, {
      defaultTimeoutMs: 300,
      curve: curveClientOptions(clientKeys, serverKeys.publicKey),
    });
    try {
      const err: unknown = await c.request("sys.echo", "hi").catch((e: unknown) => e);
      expect(isGeomeshError(err) && err.code).toBe("TIMEOUT");
      expect(orphan.counters.requests).toBe(0);
    } finally {
      await closeAll(orphan, c);
    }
  });
});
