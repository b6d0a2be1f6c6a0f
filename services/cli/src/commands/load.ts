import { DEFAULT_LOAD_BATCH, formatSummary } from "@geomesh/datasets";
import type { Command } from "commander";
import { LIMITS } from "@geomesh/geo";
import { intInRange, parseEndpoint } from "../arg-parsers.js";
import { type GlobalOptions, loadConfig } from "../context.js";
import { runLoad } from "../load-runner.js";
import { clientCurve } from "../security-context.js";

export function registerLoad(program: Command): void {
  program
    .command("load")
    .description(
      "load places into the owning regions: cities, zips, synthetic:<n>[:seed], or a GeoJSON / NDJSON / CSV file",
    )
    .argument(
      "<source>",
      "cities | zips | synthetic:<n>[:seed] | path to .geojson/.json, .ndjson/.jsonl or .csv",
    )
    .option(
      "--broker <endpoint>",
      "send everything to this broker frontend (it forwards what it does not own)",
      parseEndpoint,
    )
    .option(
      "--batch-size <n>",
      "places per place.upsert batch (one store transaction each)",
      intInRange(1, LIMITS.maxUpsertBatch),
      DEFAULT_LOAD_BATCH,
    )
    .option("--concurrency <n>", "batches in flight", intInRange(1, 256), 4)
    .option("--timeout-ms <ms>", "per-batch timeout", intInRange(100, 3_600_000), 60_000)
    .option("--no-progress", "no progress bar")
    .action(
      async (
        source: string,
        opts: {
          broker?: string;
          batchSize: number;
          concurrency: number;
          timeoutMs: number;
          progress: boolean;
        },
        cmd: Command,
      ) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        const config = loadConfig(globals);
        const summary = await runLoad(source, {
          config,
          broker: opts.broker,
          batchSize: opts.batchSize,
          concurrency: opts.concurrency,
          timeoutMs: opts.timeoutMs,
          progress: opts.progress && process.stderr.isTTY,
          curve: clientCurve(config),
        });
        process.stdout.write(`${formatSummary(summary)}\n`);
        if (summary.read > 0 && summary.accepted === 0) process.exitCode = 1;
      },
    );
}
