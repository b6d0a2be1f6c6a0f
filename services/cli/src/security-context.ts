import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { ClusterConfig } from "@geomesh/config";
import { GeomeshError } from "@geomesh/errors";
import { type Logger, silentLogger } from "@geomesh/logger";
import {
  type CurveKeyPair,
  type CurveOptions,
  DEFAULT_ZAP_DOMAIN,
  ZapAuthenticator,
  curveClientOptions,
  curveServerOptions,
  keyPairFromEnv,
  keyPairPaths,
  readKeyPair,
  readPublicKey,
  readPublicKeys,
  serverKeyFromEnv,
} from "@geomesh/protocol";
import type { Service } from "./run-service.js";

/** Key pair names in `curve.keysDir`: brokers use `broker`, workers and clients `client`. */
export const BROKER_KEY_NAME = "broker";
export const CLIENT_KEY_NAME = "client";

/** What a broker process needs to run CURVE: socket options and the allow-list's ZAP handler. */
export interface BrokerSecurity {
  readonly keysDir: string;
  /** Server options for the broker's bound sockets (frontend, backend). */
  readonly curve: CurveOptions;
  /**
   * Client options for the broker's own connecting sockets (peering: cloudbe → peers' cloudfe).
   * Every broker holds the same `broker` pair, so a peer's server key is our own public key.
   */
  readonly peerCurve: CurveOptions;
  readonly authenticator: ZapAuthenticator;
  /** Re-reads every `*.pub` of `keysDir` into the allow-list; returns how many keys it holds. */
  reload(): number;
}

/**
 * A broker's CURVE setup when `config.curve.enabled`: its key pair from `$GEOMESH_CURVE_SECRET_KEY`
 * (and `…_PUBLIC_KEY`) or `<keysDir>/broker.key`, and every `<keysDir>/*.pub` as the allow-list.
 */
export function brokerSecurity(
  config: ClusterConfig,
  logger: Logger = silentLogger,
  env: NodeJS.ProcessEnv = process.env,
): BrokerSecurity | undefined {
  if (!config.curve.enabled) return undefined;
  const keysDir = resolve(config.curve.keysDir);
  const keys = ownKeyPair(keysDir, BROKER_KEY_NAME, logger, env);
  const authenticator = new ZapAuthenticator({ domain: DEFAULT_ZAP_DOMAIN, logger });
  const load = (): number => {
    const entries = readPublicKeys(keysDir);
    if (entries.length === 0)
      throw new GeomeshError(
        "CONFIG_INVALID",
        `${keysDir}: no *.pub files, so no CURVE client could connect (create them with "geomesh keys")`,
      );
    authenticator.setAllowed(entries.map((e) => e.publicKey));
    logger.info({ keysDir, allowed: entries.map((e) => e.name) }, "CURVE allow-list loaded");
    return entries.length;
  };
  load();
  return {
    keysDir,
    curve: curveServerOptions(keys, authenticator.domain),
    peerCurve: curveClientOptions(keys, keys.publicKey),
    authenticator,
    reload: load,
  };
}

/**
 * CURVE options for a worker or client process when `config.curve.enabled`: its key pair from
 * `$GEOMESH_CURVE_SECRET_KEY` or `<keysDir>/client.key`, the broker's public key from
 * `$GEOMESH_CURVE_SERVER_KEY` or `<keysDir>/broker.pub`.
 */
export function clientCurve(
  config: ClusterConfig,
  logger: Logger = silentLogger,
  env: NodeJS.ProcessEnv = process.env,
): CurveOptions | undefined {
  if (!config.curve.enabled) return undefined;
  const keysDir = resolve(config.curve.keysDir);
  const keys = ownKeyPair(keysDir, CLIENT_KEY_NAME, logger, env);
  const serverKey = serverKeyFromEnv(env) ?? readPublicKey(keysDir, BROKER_KEY_NAME);
  return curveClientOptions(keys, serverKey);
}

/**
 * Wraps a broker service so the ZAP authenticator runs before its sockets bind and stops after
 * they close; SIGHUP re-reads the allow-list (add or remove `*.pub` files, then `kill -HUP`).
 */
export function securedService(
  service: Service,
  security: BrokerSecurity | undefined,
  logger: Logger,
): Service {
  if (!security) return service;
  const onHangup = (): void => {
    try {
      security.reload();
    } catch (err) {
      logger.error({ err }, "CURVE allow-list reload failed; keeping the previous list");
    }
  };
  return {
    async start() {
      await security.authenticator.start();
      process.on("SIGHUP", onHangup);
      await service.start();
    },
    async stop(drainMs?: number) {
      await service.stop(drainMs);
      process.off("SIGHUP", onHangup);
      await security.authenticator.stop();
    },
  };
}

function ownKeyPair(
  keysDir: string,
  name: string,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): CurveKeyPair {
  const fromEnv = keyPairFromEnv(env);
  if (fromEnv) {
    logger.info({ publicKey: fromEnv.publicKey }, "CURVE key pair from the environment");
    return fromEnv;
  }
  const keys = readKeyPair(keysDir, name);
  const { secretFile } = keyPairPaths(keysDir, name);
  if ((statSync(secretFile).mode & 0o077) !== 0)
    logger.warn(
      { file: secretFile },
      "CURVE secret key file is readable by other users (chmod 600)",
    );
  logger.info({ file: secretFile, publicKey: keys.publicKey }, "CURVE key pair loaded");
  return keys;
}
