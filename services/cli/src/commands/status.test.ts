import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GeomeshClient } from "@geomesh/client";
import { type ClusterConfigInput, parseClusterConfig } from "@geomesh/config";
import {
  BROKER_STATUS_SERVICE,
  Broker,
  type BrokerStatus,
  CURVE_ENV,
  Worker,
  ZapAuthenticator,
  curveClientOptions,
  curveServerOptions,
  generateKeyPair,
  readKeyPair,
  readPublicKeys,
} from "@geomesh/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clientCurve } from "../security-context.js";
import {
  runCli,
  spawnCli,
  stopChild,
  waitForOutput,
  writeTestConfig,
} from "../testing/cli-process.js";
import { writeKeyPairs } from "./keys.js";

const echo = { "sys.echo": (req: { body: Buffer[] }) => req.body };

type Region = ClusterConfigInput["regions"][number];

/** A broker and one worker in this process, on the region's configured endpoints. */
async function startRegion(
  region: Region,
  curve: {
    server?: Parameters<typeof curveServerOptions>;
    worker?: Parameters<typeof curveClientOptions>;
  } = {},
): Promise<{ broker: Broker; worker: Worker }> {
  const broker = new Broker({
    name: region.name,
    frontend: region.endpoints.frontend,
    backend: region.endpoints.backend,
    heartbeat: { intervalMs: 200, liveness: 3 },
    ...(curve.server ? { curve: curveServerOptions(...curve.server) } : {}),
  });
  await broker.start();
  const worker = new Worker({
    endpoint: region.endpoints.backend,
    services: echo,
    concurrency: 3,
    ...(curve.worker ? { curve: curveClientOptions(...curve.worker) } : {}),
  });
  worker.start();
  await worker.ready(5000);
  return { broker, worker };
}

describe("geomesh status", () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "geomesh-status-"));
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints each broker's workers and capacity and exits 0", async () => {
    const { path, input } = await writeTestConfig(dir, [{ name: "NE", states: ["NY"] }]);
    const { broker, worker } = await startRegion(input.regions[0]!);
    cleanup.push(
      () => broker.stop(0),
      () => worker.stop(0),
    );

    const res = await runCli(["--config", path, "status", "--timeout-ms", "1000", "--all"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const summary = res.stdout.split("\n").find((l) => l.startsWith("NE "));
    expect(summary).toMatch(/^NE\s+running\s+1\s+3\s+0\s+0\s+/);
    // Binary routing ids are shown in hex, as the broker logs them.
    expect(res.stdout).toContain(
      Buffer.from(broker.status().workers[0]!.id, "latin1").toString("hex"),
    );
    expect(res.stdout).toMatch(/sys\.echo\s+1\s+0\s+0\s+3/);
    expect(res.stdout).toMatch(/counters: requests \d+, replies \d+/);
  }, 30_000);

  it("shows an unreachable region and exits 1, without crashing", async () => {
    const { path, input } = await writeTestConfig(dir, [
      { name: "NE", states: ["NY"] },
      { name: "MW", states: ["OH"] },
    ]);
    const { broker, worker } = await startRegion(input.regions[0]!);
    cleanup.push(
      () => broker.stop(0),
      () => worker.stop(0),
    );

    const res = await runCli(["--config", path, "status", "--timeout-ms", "400"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("");
    expect(res.stdout).toMatch(/^NE\s+running\s+1\s+/m);
    expect(res.stdout).toMatch(/^MW\s+unreachable\s+-/m);
    expect(res.stdout).toContain("no reply within 400 ms");

    const json = await runCli(["--config", path, "status", "--json", "--timeout-ms", "400"]);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as {
      brokers: { region: string; reachable: boolean; status?: BrokerStatus; error?: string }[];
    };
    expect(parsed.brokers.map((b) => [b.region, b.reachable])).toEqual([
      ["NE", true],
      ["MW", false],
    ]);
    expect(parsed.brokers[0]!.status!.workers).toHaveLength(1);
    expect(parsed.brokers[0]!.status!.freeCapacity).toBe(3);
  }, 30_000);

  describe("with CURVE", () => {
    it("reads keys from keysDir, and a client with an unknown key sees the broker as unreachable", async () => {
      const keys = join(dir, "keys");
      writeKeyPairs(keys, ["broker", "client"], false);
      const { path, input } = await writeTestConfig(dir, [{ name: "NE", states: ["NY"] }], {
        curve: { enabled: true, keysDir: keys },
      });
      const brokerKeys = readKeyPair(keys, "broker");
      const auth = new ZapAuthenticator({ allow: readPublicKeys(keys).map((e) => e.publicKey) });
      await auth.start();
      cleanup.push(() => auth.stop());
      const { broker, worker } = await startRegion(input.regions[0]!, {
        server: [brokerKeys, auth.domain],
        worker: [readKeyPair(keys, "client"), brokerKeys.publicKey],
      });
      cleanup.push(
        () => broker.stop(0),
        () => worker.stop(0),
      );

      const ok = await runCli(["--config", path, "status", "--timeout-ms", "1000"]);
      expect(ok.stderr).toBe("");
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^NE\s+running\s+1\s+3/m);

      const stranger = generateKeyPair();
      const refused = await runCli(["--config", path, "status", "--timeout-ms", "400"], {
        [CURVE_ENV.secretKey]: stranger.secretKey,
      });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^NE\s+unreachable/m);
      expect(refused.stdout).toContain("CURVE is on");
      expect(auth.counters.denied).toBeGreaterThan(0);
    }, 30_000);

    it("runs geomesh broker and geomesh worker processes over CURVE", async () => {
      const keys = join(dir, "keys");
      writeKeyPairs(keys, ["broker", "client"], false);
      const { path } = await writeTestConfig(dir, [{ name: "NE", states: ["NY"] }], {
        curve: { enabled: true, keysDir: keys },
      });
      const brokerProc = spawnCli(["--config", path, "broker", "--region", "NE"]);
      cleanup.push(() => stopChild(brokerProc));
      await waitForOutput(brokerProc, /broker ready/);
      const workerProc = spawnCli([
        "--config",
        path,
        "worker",
        "--region",
        "NE",
        "--concurrency",
        "2",
      ]);
      cleanup.push(() => stopChild(workerProc));

      // Wait, over CURVE from this process, until the worker has registered.
      const config = parseClusterConfig(JSON.parse(readFileSync(path, "utf8")));
      const client = new GeomeshClient({
        endpoint: config.regions[0]!.endpoints.frontend,
        timeoutMs: 1000,
        curve: clientCurve(config)!,
      });
      cleanup.push(() => client.close());
      const until = Date.now() + 20_000;
      for (;;) {
        const status = await client.request<BrokerStatus>(BROKER_STATUS_SERVICE, null);
        if (status.workers.length === 1) break;
        if (Date.now() > until) throw new Error("worker did not register");
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await client.request("sys.echo", { hi: 1 })).toEqual({ hi: 1 });

      const res = await runCli(["--config", path, "status", "--timeout-ms", "1000"]);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/^NE\s+running\s+1\s+2/m);

      // Without keys the same broker does not answer.
      const plain = await runCli(["status", "--timeout-ms", "400", "--config", path], {
        [CURVE_ENV.secretKey]: generateKeyPair().secretKey,
      });
      expect(plain.code).toBe(1);
    }, 60_000);
  });
});
