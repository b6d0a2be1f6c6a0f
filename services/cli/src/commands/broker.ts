import { BrokerService } from "@geomesh/broker";
import type { Command } from "commander";
import { parseEndpoint, parseRegionName } from "../arg-parsers.js";
import { type GlobalOptions, loadConfig, makeLogger } from "../context.js";
import { runService } from "../run-service.js";

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
    .action(async (opts: { region: string; frontend?: string; backend?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = loadConfig(globals);
      const log = makeLogger("broker", globals, { region: opts.region });
      const service = new BrokerService({
        config,
        region: opts.region,
        frontend: opts.frontend,
        backend: opts.backend,
        logger: log,
      });
      await runService(service, log, globals.drainMs);
      log.info({ endpoints: service.broker.endpoints }, "broker ready");
    });
}
