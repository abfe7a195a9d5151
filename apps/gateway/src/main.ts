import cluster from "node:cluster";
import { queueConfigFromEnv } from "@floodgate/queue";
import { createLogger, onShutdown, startOpsServer } from "@floodgate/service";
import { AggregatorRegistry } from "prom-client";
import { readGatewayEnv, type GatewayEnv } from "./env.js";
import { startGateway } from "./gateway.js";
import { providers } from "./providers.js";

const log = createLogger("floodgate-gateway");

/**
 * With GATEWAY_PROCESSES > 1 the primary forks that many gateway processes sharing PORT
 * (node:cluster distributes connections), restarts any that dies, and serves the metrics of all
 * of them, aggregated, on METRICS_PORT.
 */
async function runPrimary(env: GatewayEnv): Promise<void> {
  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, "gateway process died; starting another");
    fork();
  });
  for (let i = 0; i < env.GATEWAY_PROCESSES; i++) fork();
  const aggregator = new AggregatorRegistry();
  const metricsServer = await startOpsServer(env.METRICS_PORT, env.HOST, {
    registry: { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() },
  });
  log.info({ processes: env.GATEWAY_PROCESSES, metricsPort: env.METRICS_PORT }, "gateway cluster started");
  onShutdown(log, env.SHUTDOWN_TIMEOUT_MS, async () => {
    stopping = true;
    const exits = Object.values(cluster.workers ?? {}).map(
      (w) =>
        new Promise<void>((resolve) => {
          if (!w || w.isDead()) return resolve();
          w.once("exit", () => resolve());
          w.process.kill("SIGTERM");
        }),
    );
    await Promise.all(exits);
    metricsServer.close();
  });
}

try {
  const env = readGatewayEnv();
  log.level = env.LOG_LEVEL;
  if (env.GATEWAY_PROCESSES > 1 && cluster.isPrimary) {
    await runPrimary(env);
  } else {
    const gateway = await startGateway({
      env,
      queue: queueConfigFromEnv(process.env),
      providers,
      secrets: process.env,
      log,
      serveMetrics: cluster.isPrimary,
      // NATS answered but cannot be used (bad credentials, a stream config it refuses): a restart
      // will not fix it, so stop loudly.
      onFatal: (err) => {
        log.fatal({ err }, `NATS cannot be used: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    });
    onShutdown(log, env.SHUTDOWN_TIMEOUT_MS, () => gateway.close());
  }
} catch (err) {
  log.fatal({ err }, err instanceof Error ? err.message : String(err));
  process.exit(1);
}
