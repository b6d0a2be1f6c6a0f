import { isGeomeshError } from "@geomesh/errors";
import { Command, CommanderError } from "commander";
import { intInRange, parseLogLevel } from "./arg-parsers.js";
import { registerBroker } from "./commands/broker.js";
import { registerKeys } from "./commands/keys.js";
import { registerGateway } from "./commands/gateway.js";
import { registerLoad } from "./commands/load.js";
import { registerStatus } from "./commands/status.js";
import { registerUp } from "./commands/up.js";
import { registerWorker } from "./commands/worker.js";

/** Builds the `geomesh` command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command("geomesh")
    .description("geo-sharded location search over ZeroMQ region brokers")
    .option(
      "--config <file>",
      "cluster config (.json or .yaml); default $GEOMESH_CONFIG, ./geomesh.config.json, or the built-in five US regions",
    )
    .option(
      "--log-level <level>",
      "fatal|error|warn|info|debug|trace|silent (default $GEOMESH_LOG_LEVEL or info)",
      parseLogLevel,
    )
    .option(
      "--drain-ms <ms>",
      "how long a graceful shutdown waits for in-flight work",
      intInRange(0, 600_000),
      5000,
    )
    .showHelpAfterError()
    .exitOverride();
  registerBroker(program);
  registerWorker(program);
  registerUp(program);
  registerLoad(program);
  registerGateway(program);
  registerStatus(program);
  registerKeys(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (isGeomeshError(err)) {
      process.stderr.write(`geomesh: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `geomesh: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  }
}

await main(process.argv);
