import type { Logger } from "@geomesh/logger";

export interface Service {
  start(): Promise<void>;
  stop(drainMs?: number): Promise<void>;
}

/**
 * Starts a service and stops it gracefully on SIGTERM/SIGINT (drain in-flight work up to
 * `drainMs`); a second signal exits at once.
 */
export async function runService(service: Service, log: Logger, drainMs: number): Promise<void> {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting without draining");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, drainMs }, "shutting down");
    service.stop(drainMs).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  await service.start();
}
