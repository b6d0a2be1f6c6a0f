import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readKeyPair, readPublicKey } from "@geomesh/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, writeTestConfig } from "../testing/cli-process.js";
import { writeKeyPairs } from "./keys.js";

describe("geomesh keys", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "geomesh-keys-cli-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes broker and client key pairs with 0600 secrets and prints how to enable CURVE", async () => {
    const keys = join(dir, "keys");
    const res = await runCli(["keys", "--dir", keys]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    for (const name of ["broker", "client"]) {
      expect(statSync(join(keys, `${name}.key`)).mode & 0o777).toBe(0o600);
      expect(statSync(join(keys, `${name}.pub`)).mode & 0o777).toBe(0o644);
      const pair = readKeyPair(keys, name);
      expect(res.stdout).toContain(`public key ${pair.publicKey}`);
      expect(res.stdout).not.toContain(pair.secretKey);
    }
    expect(res.stdout).toContain(
      `"curve": { "enabled": true, "keysDir": ${JSON.stringify(keys)} }`,
    );
  }, 30_000);

  it("refuses to overwrite existing key files without --force", async () => {
    const keys = join(dir, "keys");
    expect((await runCli(["keys", "--dir", keys])).code).toBe(0);
    const before = readFileSync(join(keys, "broker.key"), "utf8");
    const again = await runCli(["keys", "--dir", keys]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/refusing to overwrite .*broker\.key/);
    expect(readFileSync(join(keys, "broker.key"), "utf8")).toBe(before);
    const forced = await runCli(["keys", "--dir", keys, "--force"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(keys, "broker.key"), "utf8")).not.toBe(before);
    expect(statSync(join(keys, "broker.key")).mode & 0o777).toBe(0o600);
  }, 60_000);

  it("writes named pairs into the config's keysDir when --dir is absent", async () => {
    const keys = join(dir, "cluster-keys");
    const { path } = await writeTestConfig(dir, [{ name: "NE", states: ["NY"] }], {
      curve: { enabled: false, keysDir: keys },
    });
    const res = await runCli(["--config", path, "keys", "--name", "worker-1", "--name", "gateway"]);
    expect(res.code).toBe(0);
    expect(readPublicKey(keys, "worker-1")).toMatch(/^.{40}$/);
    expect(readPublicKey(keys, "gateway")).toMatch(/^.{40}$/);
    expect(res.stdout).toContain("wrote 2 CURVE key pairs");
  }, 30_000);

  it("writes nothing when one of several pairs already exists", () => {
    writeKeyPairs(dir, ["client"], false);
    expect(() => writeKeyPairs(dir, ["broker", "client"], false)).toThrow(/client\.key/);
    expect(() => statSync(join(dir, "broker.key"))).toThrow();
  });
});
