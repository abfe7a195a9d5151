import { queueConfigFromEnv } from "@floodgate/queue";
import { createLogger, onShutdown } from "@floodgate/service";
import { readWorkerEnv } from "./env.js";
import { startWorker } from "./worker.js";

const log = createLogger("floodgate-worker");
try {
  const env = readWorkerEnv();
  log.level = env.LOG_LEVEL;
  const worker = await startWorker({ env, queue: queueConfigFromEnv(process.env), log });
  onShutdown(log, env.SHUTDOWN_TIMEOUT_MS, () => worker.close());
  worker.started.catch((err: unknown) => {
    log.fatal({ err }, `cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
} catch (err) {
  log.fatal({ err }, err instanceof Error ? err.message : String(err));
  process.exit(1);
}
