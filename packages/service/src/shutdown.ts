import type { Logger } from "pino";

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits: 0 when it finished within `deadlineMs`,
 * 1 when it threw or ran out of time. A second signal exits at once.
 */
export function onShutdown(log: Logger, deadlineMs: number, stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, deadlineMs }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ deadlineMs }, "shutdown deadline passed; exiting");
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    stop(signal).then(
      () => {
        log.info("shutdown complete");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}
