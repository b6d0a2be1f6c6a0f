import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type ClusterConfig, parseClusterConfig } from "@geomesh/config";
import { createLogger } from "@geomesh/logger";
import {
  CURVE_ENV,
  ZapAuthenticator,
  generateKeyPair,
  readKeyPair,
  writeKeyPair,
} from "@geomesh/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { brokerSecurity, clientCurve, securedService } from "./security-context.js";

function config(keysDir: string, enabled = true): ClusterConfig {
  return parseClusterConfig({
    regions: [
      {
        name: "NE",
        polygon: { states: ["NY"] },
        endpoints: {
          frontend: "tcp://127.0.0.1:7100",
          backend: "tcp://127.0.0.1:7101",
          cloud: "tcp://127.0.0.1:7102",
          state: "tcp://127.0.0.1:7103",
          events: "tcp://127.0.0.1:7104",
        },
        store: "sqlite:./data/ne.sqlite",
      },
    ],
    curve: { enabled, keysDir },
  });
}

function capture(): { logger: ReturnType<typeof createLogger>; lines: { msg: string }[] } {
  const lines: { msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  return { logger: createLogger({ name: "test", level: "info", destination }), lines };
}

describe("security context", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "geomesh-sec-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("does nothing when CURVE is off", () => {
    expect(brokerSecurity(config(dir, false), undefined, {})).toBeUndefined();
    expect(clientCurve(config(dir, false), undefined, {})).toBeUndefined();
  });

  it("gives brokers their key pair and every *.pub as the allow-list", () => {
    const broker = writeKeyPair(dir, "broker");
    const client = writeKeyPair(dir, "client");
    const extra = writeKeyPair(dir, "worker-7");
    const sec = brokerSecurity(config(dir), undefined, {})!;
    expect(sec.curve).toMatchObject({
      curveServer: true,
      curveSecretKey: readKeyPair(dir, "broker").secretKey,
      zapDomain: sec.authenticator.domain,
      zapEnforceDomain: true,
    });
    for (const key of [broker, client, extra])
      expect(sec.authenticator.isAllowed(key.publicKey)).toBe(true);
    expect(sec.authenticator.size).toBe(3);
    expect(sec.peerCurve).toMatchObject({ curveServerKey: broker.publicKey });

    // A removed .pub is refused after a reload.
    rmSync(extra.publicFile);
    expect(sec.reload()).toBe(2);
    expect(sec.authenticator.isAllowed(extra.publicKey)).toBe(false);
  });

  it("gives workers and clients their pair and the broker's public key", () => {
    const broker = writeKeyPair(dir, "broker");
    writeKeyPair(dir, "client");
    const client = readKeyPair(dir, "client");
    expect(clientCurve(config(dir), undefined, {})).toEqual({
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
      curveServerKey: broker.publicKey,
    });
  });

  it("prefers keys from the environment", () => {
    writeKeyPair(dir, "broker");
    const own = generateKeyPair();
    const server = generateKeyPair();
    const env = {
      [CURVE_ENV.secretKey]: own.secretKey,
      [CURVE_ENV.serverKey]: server.publicKey,
    };
    // No client.key on disk at all: the environment is enough.
    expect(clientCurve(config(dir), undefined, env)).toEqual({
      curvePublicKey: own.publicKey,
      curveSecretKey: own.secretKey,
      curveServerKey: server.publicKey,
    });
    expect(brokerSecurity(config(dir), undefined, env)!.curve.curveSecretKey).toBe(own.secretKey);
  });

  it("fails with CONFIG_INVALID naming what is missing", () => {
    expect(() => brokerSecurity(config(dir), undefined, {})).toThrow(
      /broker\.key: no such secret key file/,
    );
    expect(() => clientCurve(config(join(dir, "nope")), undefined, {})).toThrow(/client\.key/);
    writeKeyPair(dir, "client");
    expect(() => clientCurve(config(dir), undefined, {})).toThrow(
      /broker\.pub: no such public key file/,
    );
    writeKeyPair(dir, "broker");
    rmSync(join(dir, "broker.pub"));
    rmSync(join(dir, "client.pub"));
    expect(() => brokerSecurity(config(dir), undefined, {})).toThrow(/no \*\.pub files/);
  });

  it("warns about a secret key file others can read", () => {
    const { secretFile } = writeKeyPair(dir, "broker");
    chmodSync(secretFile, 0o644);
    const { logger, lines } = capture();
    brokerSecurity(config(dir), logger, {});
    expect(lines.map((l) => l.msg)).toContain(
      "CURVE secret key file is readable by other users (chmod 600)",
    );
  });

  it("starts the authenticator before the service and stops it after", async () => {
    writeKeyPair(dir, "broker");
    const sec = brokerSecurity(config(dir), undefined, {})!;
    // Whether an authenticator answers for the domain: a second one cannot start while it does.
    const authRunning = async (): Promise<boolean> => {
      const twin = new ZapAuthenticator({ domain: sec.authenticator.domain });
      try {
        await twin.start();
      } catch {
        return true;
      }
      await twin.stop();
      return false;
    };
    const events: string[] = [];
    const wrapped = securedService(
      {
        start: async () => {
          events.push(`start (zap ${(await authRunning()) ? "on" : "off"})`);
        },
        stop: async () => {
          events.push(`stop (zap ${(await authRunning()) ? "on" : "off"})`);
        },
      },
      sec,
      createLogger({ name: "test", level: "silent" }),
    );
    const hangups = process.listenerCount("SIGHUP");
    await wrapped.start();
    expect(process.listenerCount("SIGHUP")).toBe(hangups + 1);
    await wrapped.stop(0);
    expect(process.listenerCount("SIGHUP")).toBe(hangups);
    expect(events).toEqual(["start (zap on)", "stop (zap on)"]);
    expect(await authRunning()).toBe(false);
  });
});
