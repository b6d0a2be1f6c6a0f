import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { DEFAULT_LOAD_BATCH, formatSummary } from "@geomesh/datasets";
import { runLoad } from "../load-runner.js";
import { resolve } from "node:path";
import {
  type ClusterConfig,
  defaultClusterInput,
  loadClusterConfig,
  parseClusterConfig,
} from "@geomesh/config";
import { GeomeshError } from "@geomesh/errors";
import type { Command } from "commander";
import { intInRange } from "../arg-parsers.js";
import { type GlobalOptions, makeLogger } from "../context.js";
import { type ChildSpec, Supervisor } from "../supervisor.js";

interface UpOptions {
  readonly workers?: number;
  readonly concurrency: number;
  readonly dataDir?: string;
  readonly basePort?: number;
  readonly testServices: boolean;
  readonly ownStore: boolean;
  readonly sampleData: boolean;
  readonly gatewayPort?: number;
  readonly gateways: number;
}

/** The effective config: --config (or the default five regions), then single-value flags. */
function effectiveConfig(globals: GlobalOptions, opts: UpOptions): ClusterConfig {
  if (globals.config) {
    if (opts.basePort !== undefined)
      throw new GeomeshError(
        "CONFIG_INVALID",
        "--base-port lays out the built-in five regions; with --config the ports come from the file",
        { data: { field: "--base-port" } },
      );
    const cfg = loadClusterConfig({ path: globals.config }).config;
    if (opts.workers === undefined && opts.dataDir === undefined && opts.gatewayPort === undefined)
      return cfg;
    return parseClusterConfig(
      {
        ...cfg,
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        ...(opts.gatewayPort === undefined
          ? {}
          : { gateway: { ...cfg.gateway, port: opts.gatewayPort } }),
        regions: cfg.regions.map((r) => ({
          ...r,
          ...(opts.workers === undefined ? {} : { workers: opts.workers }),
        })),
      },
      "--config with flags",
    );
  }
  const input = defaultClusterInput({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.basePort ? { basePort: opts.basePort } : {}),
    ...(opts.gatewayPort === undefined ? {} : { gatewayPort: opts.gatewayPort }),
    ...(opts.workers === undefined ? {} : { workersPerRegion: opts.workers }),
  });
  return parseClusterConfig(input, "built-in default with flags");
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description(
      "run the whole cluster on this machine: a broker and workers per region, as separate processes",
    )
    .option(
      "--workers <n>",
      "workers per region (default: from the config; built in: 2, 1 on fewer than 4 cores)",
      intInRange(0, 64),
    )
    .option("--concurrency <n>", "requests each worker runs at once", intInRange(1, 1024), 4)
    .option(
      "--data-dir <dir>",
      "where embedded stores, logs and the effective config live (default ./data)",
    )
    .option(
      "--base-port <port>",
      "first port of the default layout (region i uses base+10i .. base+10i+4)",
      intInRange(1024, 65000),
    )
    .option("--test-services", "workers also serve sys.sleep", false)
    .option(
      "--own-store",
      "each worker holds only its own region's store, as deployed (default: every store, so any worker can serve any region)",
      false,
    )
    .option("--no-sample-data", "do not load the bundled US cities and ZIPs on first run")
    .option(
      "--gateway-port <port>",
      "HTTP port of the (first) gateway (default: the config's, 8080)",
      intInRange(1, 65535),
    )
    .option(
      "--gateways <n>",
      "gateways to run, on consecutive ports from the gateway port (live feeds reach every one)",
      intInRange(1, 16),
      1,
    )
    .action(async (opts: UpOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const log = makeLogger("up", globals);
      const config = effectiveConfig(globals, opts);
      const dataDir = resolve(config.dataDir);
      mkdirSync(dataDir, { recursive: true });
      const configPath = resolve(dataDir, "geomesh.cluster.json");
      writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
      const common = [
        "--config",
        configPath,
        "--drain-ms",
        String(globals.drainMs),
        ...(globals.logLevel ? ["--log-level", globals.logLevel] : []),
      ];
      const specs: ChildSpec[] = [];
      for (const region of config.regions) {
        specs.push({
          name: `broker-${region.name}`,
          wave: 0,
          args: [...common, "broker", "--region", region.name],
        });
        for (let i = 1; i <= region.workers; i++) {
          specs.push({
            name: `worker-${region.name}-${i}`,
            wave: 1,
            args: [
              ...common,
              "worker",
              "--region",
              region.name,
              "--concurrency",
              String(opts.concurrency),
              ...(opts.testServices ? ["--test-services"] : []),
              ...(opts.ownStore ? ["--own-store"] : []),
            ],
          });
        }
      }
      const gatewayPorts = Array.from({ length: opts.gateways }, (_, i) => config.gateway.port + i);
      gatewayPorts.forEach((port, i) =>
        specs.push({
          name: i === 0 ? "gateway" : `gateway-${i + 1}`,
          wave: 2,
          args: [...common, "gateway", "--port", String(port)],
        }),
      );
      const supervisor = new Supervisor(resolve(dataDir, "logs"), log);
      let stoppingSince: number | undefined;
      const stop = (signal: string) => {
        if (stoppingSince !== undefined) {
          // npm and a shell forward the signal they got: a repeat within a second is that echo,
          // not a second Ctrl-C. A real second one stops the wait — without orphaning anyone.
          if (Date.now() - stoppingSince < 1000) return;
          process.stdout.write(`\n${signal} again: killing the cluster now.\n`);
          supervisor.kill();
          process.exit(1);
        }
        stoppingSince = Date.now();
        process.stdout.write(`\n${signal}: stopping the cluster gracefully…\n`);
        supervisor.stop(globals.drainMs).then(
          () => {
            process.stdout.write("stopped.\n");
            process.exit(0);
          },
          () => process.exit(1),
        );
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.stdout.write(
        `geomesh: starting ${config.regions.length} brokers, ${specs.length - config.regions.length - opts.gateways} workers and ${opts.gateways === 1 ? "the gateway" : `${opts.gateways} gateways`} (logs in ${resolve(dataDir, "logs")})…\n`,
      );
      try {
        await supervisor.start(specs);
      } catch (err) {
        await supervisor.stop(0);
        throw err;
      }
      const lines = config.regions.map(
        (r) =>
          `  ${r.name.padEnd(6)} ${r.endpoints.frontend}  (${r.workers} workers, store ${r.store})`,
      );
      process.stdout.write(
        `geomesh is up. Region brokers (7/MDP or GMP clients connect to any frontend):\n${lines.join("\n")}\n${gatewayPorts.map((port) => `HTTP API: http://${config.gateway.host}:${port}/v1/places/near?lng=-73.99&lat=40.73 (map at http://${config.gateway.host}:${port}/, OpenAPI UI at /docs, live feed at ws://${config.gateway.host}:${port}/v1/live)`).join("\n")}\nPress Ctrl-C to stop.\n`,
      );
      const marker = resolve(dataDir, ".sample-data-loaded");
      if (opts.sampleData && !existsSync(marker)) {
        process.stdout.write(
          "First run: loading the bundled US cities (GeoNames, CC BY 4.0) and ZIP centroids…\n",
        );
        for (const source of ["cities", "zips"]) {
          const summary = await runLoad(source, {
            config,
            batchSize: DEFAULT_LOAD_BATCH,
            concurrency: 4,
            timeoutMs: 60_000,
            progress: process.stderr.isTTY,
          });
          process.stdout.write(`${source}: ${formatSummary(summary).split("\n")[0]}\n`);
        }
        writeFileSync(marker, `${new Date().toISOString()}\n`);
        process.stdout.write("Sample data loaded; later runs reuse it.\n");
      }
    });
}
