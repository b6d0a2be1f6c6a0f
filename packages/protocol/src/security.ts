import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { join } from "node:path";
import { GeomeshError } from "@geomesh/errors";
import * as zmq from "zeromq";
import type { CurveOptions } from "./sockets.js";
import { DEFAULT_ZAP_DOMAIN } from "./zap-authenticator.js";
import { isZ85Key, z85Decode, z85Encode } from "./z85.js";

/** A CURVE key pair as Z85 strings (40 characters each). */
export interface CurveKeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** Environment variables that override key files (one process, one role). */
export const CURVE_ENV = {
  /** This process's secret key (broker: the server key pair; worker/client: its own). */
  secretKey: "GEOMESH_CURVE_SECRET_KEY",
  /** This process's public key; optional, derived from the secret key when absent. */
  publicKey: "GEOMESH_CURVE_PUBLIC_KEY",
  /** The broker's public key, for workers and clients. */
  serverKey: "GEOMESH_CURVE_SERVER_KEY",
} as const;

const SECRET_SUFFIX = ".key";
const PUBLIC_SUFFIX = ".pub";
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A fresh CURVE key pair from libzmq. */
export function generateKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = zmq.curveKeyPair();
  return { publicKey, secretKey };
}

// PKCS#8 header of a raw X25519 private key: lets node:crypto do CURVE's scalar multiplication.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key belonging to a Z85 secret key (Curve25519, as libsodium computes it). */
export function derivePublicKey(secretKey: string): string {
  const raw = z85Decode(secretKey);
  if (raw?.length !== 32)
    throw new GeomeshError("CONFIG_INVALID", "not a CURVE secret key (expected 40 Z85 characters)");
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return z85Encode(spki.subarray(spki.length - 32));
}

/** Files written for one key pair. */
export interface KeyPairFiles {
  readonly name: string;
  readonly publicKey: string;
  /** `<dir>/<name>.key`, mode 0600. */
  readonly secretFile: string;
  /** `<dir>/<name>.pub`. */
  readonly publicFile: string;
}

export interface WriteKeyPairOptions {
  /** Replace existing files (default: refuse with CONFLICT). */
  readonly force?: boolean;
  /** Write these keys instead of generating a pair. */
  readonly keys?: CurveKeyPair;
}

/** The two file paths of key pair `name` in `dir`. */
export function keyPairPaths(
  dir: string,
  name: string,
): { secretFile: string; publicFile: string } {
  checkKeyName(name);
  return {
    secretFile: join(dir, `${name}${SECRET_SUFFIX}`),
    publicFile: join(dir, `${name}${PUBLIC_SUFFIX}`),
  };
}

/**
 * Generates (or takes) a key pair and writes `<dir>/<name>.key` (secret, mode 0600) and
 * `<dir>/<name>.pub`. Refuses to replace existing files unless `force`.
 */
export function writeKeyPair(
  dir: string,
  name: string,
  options: WriteKeyPairOptions = {},
): KeyPairFiles {
  const { secretFile, publicFile } = keyPairPaths(dir, name);
  const keys = options.keys ?? generateKeyPair();
  if (!isZ85Key(keys.secretKey) || derivePublicKey(keys.secretKey) !== keys.publicKey)
    throw new GeomeshError("CONFIG_INVALID", `key pair "${name}" is not a valid CURVE key pair`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (options.force) {
    // Remove first so the secret is never written into a file with wider permissions.
    rmSync(secretFile, { force: true });
    rmSync(publicFile, { force: true });
  }
  writeKeyFile(
    secretFile,
    `# geomesh CURVE secret key "${name}" (Z85). Keep it private; never copy it off this host.\n${keys.secretKey}\n`,
    0o600,
  );
  writeKeyFile(
    publicFile,
    `# geomesh CURVE public key "${name}" (Z85). Brokers allow every *.pub in their keys directory.\n${keys.publicKey}\n`,
    0o644,
  );
  return { name, publicKey: keys.publicKey, secretFile, publicFile };
}

function writeKeyFile(file: string, text: string, mode: number): void {
  try {
    writeFileSync(file, text, { mode, flag: "wx" });
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST")
      throw new GeomeshError("CONFLICT", `${file} already exists; refusing to overwrite it`, {
        data: { file },
      });
    throw new GeomeshError("CONFIG_INVALID", `${file}: cannot write key file`, { cause: err });
  }
  // The umask may have narrowed the mode; make it exactly what was asked.
  chmodSync(file, mode);
}

/**
 * Reads key pair `name` from `dir`: `<name>.key` (required) and `<name>.pub` (optional; when
 * present it must belong to the secret key). Errors are CONFIG_INVALID naming the file.
 */
export function readKeyPair(dir: string, name: string): CurveKeyPair {
  const { secretFile, publicFile } = keyPairPaths(dir, name);
  const secretKey = readKeyFile(secretFile, "secret");
  const publicKey = derivePublicKey(secretKey);
  const stored = readKeyFile(publicFile, "public", true);
  if (stored !== undefined && stored !== publicKey)
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${publicFile} does not belong to ${secretFile} (regenerate the pair with "geomesh keys --force")`,
      { data: { file: publicFile } },
    );
  return { publicKey, secretKey };
}

/** Reads the public key `<dir>/<name>.pub`. */
export function readPublicKey(dir: string, name: string): string {
  return readKeyFile(keyPairPaths(dir, name).publicFile, "public");
}

/** One entry of a keys directory's allow-list. */
export interface PublicKeyEntry {
  readonly name: string;
  readonly file: string;
  readonly publicKey: string;
}

/** Every `*.pub` in `dir` (sorted by name): the allow-list of a broker. */
export function readPublicKeys(dir: string): PublicKeyEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new GeomeshError("CONFIG_INVALID", `${dir}: cannot read the keys directory`, {
      cause: err,
      data: { file: dir },
    });
  }
  return names
    .filter((n) => n.endsWith(PUBLIC_SUFFIX))
    .sort()
    .map((n) => {
      const file = join(dir, n);
      return {
        name: n.slice(0, -PUBLIC_SUFFIX.length),
        file,
        publicKey: readKeyFile(file, "public"),
      };
    });
}

/** This process's key pair from `GEOMESH_CURVE_SECRET_KEY` (+ optional `…_PUBLIC_KEY`), if set. */
export function keyPairFromEnv(env: NodeJS.ProcessEnv = process.env): CurveKeyPair | undefined {
  const secret = env[CURVE_ENV.secretKey]?.trim();
  const pub = env[CURVE_ENV.publicKey]?.trim();
  if (!secret && !pub) return undefined;
  if (!secret)
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${CURVE_ENV.publicKey} is set but ${CURVE_ENV.secretKey} is not; set the secret key too`,
      { data: { variable: CURVE_ENV.secretKey } },
    );
  const secretKey = checkKey(secret, CURVE_ENV.secretKey, "secret");
  const publicKey = derivePublicKey(secretKey);
  if (pub && checkKey(pub, CURVE_ENV.publicKey, "public") !== publicKey)
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${CURVE_ENV.publicKey} does not belong to ${CURVE_ENV.secretKey}`,
      { data: { variable: CURVE_ENV.publicKey } },
    );
  return { publicKey, secretKey };
}

/** The broker's public key from `GEOMESH_CURVE_SERVER_KEY`, if set. */
export function serverKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[CURVE_ENV.serverKey]?.trim();
  return value ? checkKey(value, CURVE_ENV.serverKey, "public") : undefined;
}

/**
 * Socket options for a CURVE server (a broker's bound sockets). Every handshake is checked by
 * the ZAP handler for `domain` (start a `ZapAuthenticator` for it); with no handler answering,
 * clients are refused rather than let in (`zapEnforceDomain`).
 */
export function curveServerOptions(keys: CurveKeyPair, domain = DEFAULT_ZAP_DOMAIN): CurveOptions {
  return {
    curveServer: true,
    curveSecretKey: checkKey(keys.secretKey, "server secret key", "secret"),
    zapDomain: domain,
    zapEnforceDomain: true,
  };
}

/** Socket options for a CURVE client (workers, clients) of the server with `serverPublicKey`. */
export function curveClientOptions(
  clientKeys: CurveKeyPair,
  serverPublicKey: string,
): CurveOptions {
  return {
    curvePublicKey: checkKey(clientKeys.publicKey, "client public key", "public"),
    curveSecretKey: checkKey(clientKeys.secretKey, "client secret key", "secret"),
    curveServerKey: checkKey(serverPublicKey, "server public key", "public"),
  };
}

function checkKeyName(name: string): void {
  if (!KEY_NAME.test(name))
    throw new GeomeshError(
      "CONFIG_INVALID",
      `key name "${name}" must be 1-64 letters, digits, '.', '-' or '_'`,
    );
}

/** Validates a Z85 key from `source` (a file or variable name); never echoes the value. */
function checkKey(value: string, source: string, kind: "secret" | "public"): string {
  if (isZ85Key(value)) return value;
  const why =
    value.length === 40 ? "not valid Z85" : `expected 40 Z85 characters, got ${value.length}`;
  throw new GeomeshError("CONFIG_INVALID", `${source}: not a CURVE ${kind} key (${why})`, {
    data: { source },
  });
}

function readKeyFile(file: string, kind: "secret" | "public", optional: true): string | undefined;
function readKeyFile(file: string, kind: "secret" | "public"): string;
function readKeyFile(
  file: string,
  kind: "secret" | "public",
  optional = false,
): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") {
      if (optional) return undefined;
      throw new GeomeshError(
        "CONFIG_INVALID",
        `${file}: no such ${kind} key file (create key pairs with "geomesh keys")`,
        { data: { file } },
      );
    }
    throw new GeomeshError("CONFIG_INVALID", `${file}: cannot read ${kind} key file`, {
      cause: err,
      data: { file },
    });
  }
  const tokens = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    // "#" is a Z85 digit, so only "#" followed by a space (or nothing) starts a comment.
    .filter((line) => line.length > 0 && !/^#(\s|$)/.test(line));
  if (tokens.length !== 1)
    throw new GeomeshError(
      "CONFIG_INVALID",
      `${file}: expected one Z85 ${kind} key line (besides # comments), found ${tokens.length}`,
      { data: { file } },
    );
  return checkKey(tokens[0]!, file, kind);
}
