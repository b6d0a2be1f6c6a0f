import { GeomeshClient } from "@geomesh/client";
import type { ClusterConfig } from "@geomesh/config";
import { isGeomeshError } from "@geomesh/errors";
import { BROKER_STATUS_SERVICE, type CurveOptions } from "@geomesh/protocol";
import type { Command } from "commander";
import { intInRange } from "../arg-parsers.js";
import { type GlobalOptions, loadConfig } from "../context.js";
import { clientCurve } from "../security-context.js";
import { type StatusResult, parseBrokerStatus, renderStatus } from "../status-report.js";

interface StatusOptions {
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly all: boolean;
}

/** Asks every region's broker for `broker.status`, all at once; never throws per broker. */
export async function collectStatus(
  config: ClusterConfig,
  timeoutMs: number,
  curve: CurveOptions | undefined,
): Promise<StatusResult[]> {
  return Promise.all(
    config.regions.map(async (region): Promise<StatusResult> => {
      const endpoint = region.endpoints.frontend;
      const client = new GeomeshClient({
        endpoint,
        timeoutMs,
        heartbeat: config.heartbeat,
        ...(curve ? { curve } : {}),
      });
      try {
        const raw = await client.request(BROKER_STATUS_SERVICE, null, { timeoutMs });
        const status = parseBrokerStatus(raw);
        if (!status)
          return {
            region: region.name,
            endpoint,
            ok: false,
            state: "error",
            error: `${BROKER_STATUS_SERVICE} answered with something that is not a broker status`,
          };
        return { region: region.name, endpoint, ok: true, status, raw };
      } catch (err) {
        const code = isGeomeshError(err) ? err.code : undefined;
        const unreachable = code === "TIMEOUT" || code === "BROKER_UNAVAILABLE";
        const why =
          code === "TIMEOUT"
            ? `no reply within ${timeoutMs} ms`
            : err instanceof Error
              ? err.message
              : String(err);
        return {
          region: region.name,
          endpoint,
          ok: false,
          state: unreachable ? "unreachable" : "error",
          // A refused CURVE handshake looks exactly like a dead broker from here.
          error:
            unreachable && curve
              ? `${why} (CURVE is on: is this client's public key in the broker's keys directory?)`
              : why,
        };
      } finally {
        await client.close();
      }
    }),
  );
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description(
      "show every region broker: state, workers, free capacity, queues, peers and counters (exit 1 if one is unreachable)",
    )
    .option("--json", "print the raw broker.status answers as JSON", false)
    .option("--timeout-ms <ms>", "how long to wait for each broker", intInRange(50, 600_000), 2000)
    .option("--all", "list every service, not only busy ones and ones without workers", false)
    .action(async (opts: StatusOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = loadConfig(globals);
      const results = await collectStatus(config, opts.timeoutMs, clientCurve(config));
      if (opts.json) {
        const brokers = results.map((r) =>
          r.ok
            ? { region: r.region, endpoint: r.endpoint, reachable: true, status: r.raw }
            : {
                region: r.region,
                endpoint: r.endpoint,
                reachable: r.state !== "unreachable",
                error: r.error,
              },
        );
        process.stdout.write(`${JSON.stringify({ brokers }, null, 2)}\n`);
      } else {
        process.stdout.write(renderStatus(results, { allServices: opts.all }));
      }
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}
