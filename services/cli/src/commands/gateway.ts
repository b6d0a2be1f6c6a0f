import { GatewayService } from "@geomesh/gateway";
import type { Command } from "commander";
import { intInRange } from "../arg-parsers.js";
import { type GlobalOptions, loadConfig, makeLogger } from "../context.js";
import { runService } from "../run-service.js";
import { clientCurve } from "../security-context.js";

export function registerGateway(program: Command): void {
  program
    .command("gateway")
    .description(
      "run the HTTP gateway (GeoJSON API, OpenAPI UI at /docs) in front of the region brokers",
    )
    .option(
      "--port <n>",
      "port to listen on (default: the config's gateway.port)",
      intInRange(0, 65535),
    )
    .option("--host <host>", "address to listen on (default: the config's gateway.host)")
    .option(
      "--rate-limit <n>",
      "requests per client address per window (default: the config's gateway.rateLimit.max; 0 = off)",
      intInRange(0, 100_000_000),
    )
    .action(async (opts: { port?: number; host?: string; rateLimit?: number }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const loaded = loadConfig(globals);
      const config =
        opts.rateLimit === undefined
          ? loaded
          : {
              ...loaded,
              gateway: {
                ...loaded.gateway,
                rateLimit: { ...loaded.gateway.rateLimit, max: opts.rateLimit },
              },
            };
      const log = makeLogger("gateway", globals);
      const curve = clientCurve(config);
      const service = new GatewayService({
        config,
        host: opts.host ?? process.env.GEOMESH_BIND_HOST ?? config.gateway.host,
        port: opts.port ?? config.gateway.port,
        logger: log,
        ...(curve ? { curve } : {}),
      });
      await runService(service, log, globals.drainMs);
    });
}
