import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { GeomeshError } from "@geomesh/errors";
import { type KeyPairFiles, keyPairPaths, writeKeyPair } from "@geomesh/protocol";
import type { Command } from "commander";
import { type GlobalOptions, loadConfig } from "../context.js";
import { BROKER_KEY_NAME, CLIENT_KEY_NAME } from "../security-context.js";

interface KeysOptions {
  readonly dir?: string;
  readonly name?: string[];
  readonly force: boolean;
}

/**
 * Writes the key pairs `names` into `dir`. Checks every target first, so nothing is written
 * when one would be overwritten without `force`.
 */
export function writeKeyPairs(
  dir: string,
  names: readonly string[],
  force: boolean,
): KeyPairFiles[] {
  const unique = [...new Set(names)];
  if (!force) {
    const existing = unique
      .flatMap((name) => Object.values(keyPairPaths(dir, name)))
      .filter((file) => existsSync(file));
    if (existing.length > 0)
      throw new GeomeshError(
        "CONFLICT",
        `refusing to overwrite ${existing.join(", ")} (--force replaces them; clients holding the old keys will be refused)`,
        { data: { files: existing } },
      );
  }
  return unique.map((name) => writeKeyPair(dir, name, { force }));
}

export function registerKeys(program: Command): void {
  program
    .command("keys")
    .description(
      "generate CURVE key pairs: <name>.key (secret, mode 0600) and <name>.pub; brokers allow every *.pub of the directory",
    )
    .option("--dir <dir>", "where to write them (default: the config's curve.keysDir, ./keys)")
    .option(
      "--name <name...>",
      `key pair names (default: ${BROKER_KEY_NAME} ${CLIENT_KEY_NAME}); brokers use "${BROKER_KEY_NAME}", workers and clients "${CLIENT_KEY_NAME}"`,
    )
    .option("--force", "replace existing key files", false)
    .action((opts: KeysOptions, cmd: Command) => {
      const dir = resolve(
        opts.dir ?? loadConfig(cmd.optsWithGlobals<GlobalOptions>()).curve.keysDir,
      );
      const names = opts.name?.length ? opts.name : [BROKER_KEY_NAME, CLIENT_KEY_NAME];
      const written = writeKeyPairs(dir, names, opts.force);
      const width = Math.max(...written.map((w) => w.name.length));
      const lines = [
        `wrote ${written.length} CURVE key pair${written.length === 1 ? "" : "s"} to ${dir}:`,
        ...written.map(
          (w) =>
            `  ${w.name.padEnd(width)}  public key ${w.publicKey}  (${w.name}.pub; secret in ${w.name}.key, mode 0600)`,
        ),
        "",
        "To turn CURVE on, put this in the cluster config:",
        `  "curve": { "enabled": true, "keysDir": ${JSON.stringify(dir)} }`,
        "",
        `Brokers load ${BROKER_KEY_NAME}.key and allow every *.pub in that directory; workers and clients`,
        `load ${CLIENT_KEY_NAME}.key and trust ${BROKER_KEY_NAME}.pub. Instead of files, a process can take`,
        "GEOMESH_CURVE_SECRET_KEY (+ GEOMESH_CURVE_PUBLIC_KEY) and, for workers and clients,",
        "GEOMESH_CURVE_SERVER_KEY. Never copy a .key file to a host that does not need it.",
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
