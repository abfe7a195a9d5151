import { queueConfigFromEnv } from "@floodgate/queue";
import { createLogger, onShutdown } from "@floodgate/service";
import { readGatewayEnv } from "./env.js";
import { startGateway } from "./gateway.js";
import { providers } from "./providers.js";

const log = createLogger("floodgate-gateway");
try {
  const env = readGatewayEnv();
  log.level = env.LOG_LEVEL;
  const gateway = await startGateway({ env, queue: queueConfigFromEnv(process.env), providers, secrets: process.env, log });
  onShutdown(log, env.SHUTDOWN_TIMEOUT_MS, () => gateway.close());
} catch (err) {
  log.fatal({ err }, err instanceof Error ? err.message : String(err));
  process.exit(1);
}
