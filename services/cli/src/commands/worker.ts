import { findRegion } from "@geomesh/config";
import { WorkerService } from "@geomesh/worker";
import type { Command } from "commander";
import { intInRange, parseEndpoint, parseRegionName, parseStoreUri } from "../arg-parsers.js";
import { type GlobalOptions, loadConfig, makeLogger } from "../context.js";
import { runService } from "../run-service.js";
import { clientCurve } from "../security-context.js";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run one worker attached to a region's broker")
    .requiredOption("--region <name>", "region whose broker to serve, e.g. NE", parseRegionName)
    .option(
      "--broker <endpoint>",
      "broker backend endpoint (default: the region's from the config)",
      parseEndpoint,
    )
    .option(
      "--store <uri>",
      "serve only this region, from this store (sqlite:<file> or mongodb://…); default: every region's store from the config",
      parseStoreUri,
    )
    .option(
      "--own-store",
      "serve only --region, from that region's store in the config (the deployment shape)",
      false,
    )
    .option(
      "--frontend <endpoint>",
      "the broker's frontend, for sub-requests to regions whose store is not here and for place events (default: the region's from the config)",
      parseEndpoint,
    )
    .option("--concurrency <n>", "requests this worker runs at once", intInRange(1, 1024), 1)
    .option(
      "--coordinators <n>",
      "coordinating (unqualified) requests run at once on their own slots, when some region's store is not here (default: --concurrency)",
      intInRange(1, 1024),
    )
    .option("--test-services", "also serve sys.sleep (benchmarks and fault tests)", false)
    .action(
      async (
        opts: {
          region: string;
          broker?: string;
          store?: string;
          ownStore: boolean;
          frontend?: string;
          concurrency: number;
          coordinators?: number;
          testServices: boolean;
        },
        cmd: Command,
      ) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        const config = loadConfig(globals);
        const region = findRegion(config, opts.region);
        if (opts.ownStore && opts.store !== undefined)
          cmd.error("error: --own-store and --store both name the store; pass one", {
            exitCode: 2,
            code: "geomesh.conflictingOptions",
          });
        // Fault injection for the event-loss tests: SIGKILL after the Nth commit, before publishing.
        const fault = process.env.GEOMESH_FAULT_EXIT_AFTER_COMMIT;
        let faultExitAfterCommit: number | undefined;
        if (fault !== undefined && fault !== "") {
          try {
            faultExitAfterCommit = intInRange(1, 1_000_000_000)(fault);
          } catch {
            cmd.error("error: GEOMESH_FAULT_EXIT_AFTER_COMMIT must be an integer 1..1000000000", {
              exitCode: 2,
              code: "geomesh.invalidEnvironment",
            });
          }
        }
        const log = makeLogger("worker", globals, { region: region.name });
        const curve = clientCurve(config, log);
        const service = new WorkerService({
          region: region.name,
          broker: opts.broker ?? region.endpoints.backend,
          concurrency: opts.concurrency,
          testServices: opts.testServices,
          config,
          store: opts.ownStore ? region.store : opts.store,
          frontend: opts.frontend,
          coordinators: opts.coordinators,
          heartbeat: config.heartbeat,
          limits: {
            maxMessageBytes: config.limits.maxMessageBytes,
            highWaterMark: config.limits.highWaterMark,
          },
          logger: log,
          ...(curve ? { curve } : {}),
          faultExitAfterCommit,
        });
        await runService(service, log, globals.drainMs);
      },
    );
}
