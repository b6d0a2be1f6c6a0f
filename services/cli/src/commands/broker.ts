import { BrokerService } from "@geomesh/broker";
import type { Command } from "commander";
import { parseEndpoint, parseRegionName } from "../arg-parsers.js";
import { type GlobalOptions, loadConfig, makeLogger } from "../context.js";
import { runService } from "../run-service.js";
import { brokerSecurity, securedService } from "../security-context.js";

export function registerBroker(program: Command): void {
  program
    .command("broker")
    .description("run one region broker (frontend for clients, backend for workers)")
    .requiredOption("--region <name>", "region this broker owns, e.g. NE", parseRegionName)
    .option(
      "--frontend <endpoint>",
      "client endpoint to bind (default: from the config)",
      parseEndpoint,
    )
    .option(
      "--backend <endpoint>",
      "worker endpoint to bind (default: from the config)",
      parseEndpoint,
    )
    .option("--no-overflow", "never send work to idle peers (benchmark baseline)")
    .action(
      async (
        opts: { region: string; frontend?: string; backend?: string; overflow: boolean },
        cmd: Command,
      ) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        const config = loadConfig(globals);
        const log = makeLogger("broker", globals, { region: opts.region });
        const security = brokerSecurity(config, log);
        const service = new BrokerService({
          config,
          region: opts.region,
          frontend: opts.frontend,
          backend: opts.backend,
          overflow: opts.overflow,
          logger: log,
          ...(security ? { curve: security.curve, peerCurve: security.peerCurve } : {}),
        });
        await runService(securedService(service, security, log), log, globals.drainMs);
        log.info({ endpoints: service.broker.endpoints }, "broker ready");
      },
    );
}
