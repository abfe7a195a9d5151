import type { Server } from "node:http";
import { createDb, type Db } from "@floodgate/db";
import {
  createQueueConnector,
  deadLetterConfigFor,
  ensureConsumer,
  ensureDeadLetterStream,
  ensureStream,
  ensureStrandedSweep,
  startStrandedSweeper,
  strandedConfigFor,
  type DeadLetterConfig,
  type PullConsumer,
  type QueueConfig,
  type QueueConnection,
  type QueueConnector,
} from "@floodgate/queue";
import { closeServer, startOpsServer, type Logger } from "@floodgate/service";
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from "cockatiel";
import { createAdminHandler } from "./admin.js";
import { createDeadLetterOps } from "./dead-letters.js";
import { checkRetryBudget, type WorkerEnv } from "./env.js";
import { isDatabaseUnavailable } from "./failures.js";
import { createIntake, type Intake } from "./intake.js";
import { startMaintenance } from "./maintenance.js";
import { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";

export { pullBufferSize } from "./intake.js";

export interface WorkerOptions {
  env: WorkerEnv;
  queue: QueueConfig;
  log: Logger;
}

export interface Worker {
  /** The NATS connection, established in the background (the worker serves /readyz meanwhile). */
  readonly connector: QueueConnector;
  readonly db: Db;
  readonly opsServer: Server;
  readonly metrics: WorkerMetrics;
  /**
   * Resolves once NATS is reachable and the worker is pulling; rejects when it never can
   * (bad credentials, a stream config the server refuses): the process should exit then.
   */
  readonly started: Promise<void>;
  /** Stops pulling, applies and acks what it holds, then closes NATS and the pool. */
  close(): Promise<void>;
}

const BREAKER_STATE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.Open]: 1,
  [CircuitState.HalfOpen]: 2,
  [CircuitState.Isolated]: 1,
};

/**
 * Opens the PostgreSQL pool. A connection lost outside a query is counted and logged, never an
 * unhandled error: the query that next uses it fails, and the breaker holds the work.
 */
export function openDatabase(env: WorkerEnv, metrics: WorkerMetrics, log: Logger): Db {
  return createDb({
    databaseUrl: env.DATABASE_URL,
    max: env.WEBHOOK_MAX_WORKERS + 2,
    applicationName: "floodgate-worker",
    preparedStatements: env.DATABASE_PREPARED_STATEMENTS === "auto" ? "auto" : env.DATABASE_PREPARED_STATEMENTS === "on",
    onPreparedStatementsOff(err) {
      log.warn({ err: err.message, code: (err as { code?: string }).code }, "named prepared statements do not survive between transactions here (a transaction-pooling proxy?): sending unnamed statements from now on");
    },
    onConnectionError(err) {
      metrics.dbConnectionErrors.inc();
      log.warn({ err: err.message }, "database connection lost");
    },
  });
}

/**
 * Makes sure the work stream, the shared consumer, the dead-letter stream and the stream that
 * keeps max-deliveries advisories (stranded messages) exist as configured.
 */
export async function prepareStreams(queue: QueueConnection, queueConfig: QueueConfig): Promise<DeadLetterConfig> {
  const dlq = deadLetterConfigFor(queueConfig);
  await ensureStream(queue.jsm, queueConfig, queue.server);
  await ensureConsumer(queue.jsm, queueConfig);
  await ensureDeadLetterStream(queue.jsm, dlq);
  await ensureStrandedSweep(queue.jsm, strandedConfigFor(queueConfig));
  return dlq;
}

/** Moves messages the server gave up on (max_deliver) to the dead letters; see @floodgate/queue's stranded.ts. */
function sweepStranded(queue: QueueConnection, queueConfig: QueueConfig, dlq: DeadLetterConfig, metrics: WorkerMetrics, log: Logger): PullConsumer {
  return startStrandedSweeper(queue, strandedConfigFor(queueConfig), dlq, {
    log: log.child({ component: "stranded" }),
    onRecovered: () => metrics.strandedRecovered.inc(),
  });
}

/**
 * The database circuit breaker. It opens on "database unavailable" errors only (see
 * failures.ts): data errors are the events' problem, not the database's.
 */
export function createDatabaseBreaker(env: WorkerEnv, metrics: WorkerMetrics, log: Logger): CircuitBreakerPolicy {
  const breaker = circuitBreaker(handleWhen(isDatabaseUnavailable), {
    halfOpenAfter: env.DB_BREAKER_HALF_OPEN_MS,
    breaker: new ConsecutiveBreaker(env.DB_BREAKER_FAILURES),
  });
  breaker.onStateChange((state) => {
    metrics.breakerState.set(BREAKER_STATE[state]);
    log.warn({ state: CircuitState[state] }, "database circuit breaker changed state");
  });
  return breaker;
}

/** What runs once NATS is reachable. */
interface Running {
  queue: QueueConnection;
  dlq: DeadLetterConfig;
  intake: Intake;
  sweeper: PullConsumer;
  stopMaintenance: () => void;
}

interface OpsDeps {
  env: WorkerEnv;
  connector: QueueConnector;
  db: Db;
  breaker: CircuitBreakerPolicy;
  running: () => Running | undefined;
  metrics: WorkerMetrics;
}

/**
 * Serves /healthz, /readyz (NATS, database, breaker, consumer), /metrics and the admin API from
 * the start: while NATS is unreachable the worker answers "not ready" and says why.
 */
function startOps({ env, connector, db, breaker, running, metrics }: OpsDeps): Promise<Server> {
  const closed = () => breaker.state === CircuitState.Closed;
  const admin = (dlq: DeadLetterConfig, queue: QueueConnection) => createAdminHandler(createDeadLetterOps(queue, dlq), env.ADMIN_TOKEN);
  let adminRoutes: ReturnType<typeof admin> | undefined;
  return startOpsServer(env.WORKER_PORT, env.HOST, {
    registry: metrics.registry,
    checks: {
      nats: () => ({ ok: connector.isConnected(), detail: connector.isConnected() ? undefined : `waiting for NATS: ${connector.waitingFor ?? "not connected"}` }),
      database: async () => {
        await db.pool.query("SELECT 1");
        return { ok: true };
      },
      breaker: () => ({ ok: closed(), detail: closed() ? undefined : `circuit ${CircuitState[breaker.state]}` }),
      consumer: () => {
        const ok = running()?.intake.consumer.running ?? false;
        return { ok, detail: ok ? undefined : "consumer not running" };
      },
    },
    routes: (req, res) => {
      const r = running();
      if (r) return (adminRoutes ??= admin(r.dlq, r.queue))(req, res);
      if (!(req.url ?? "").startsWith("/admin/")) return false;
      const body = JSON.stringify({ error: "waiting for NATS" });
      res.writeHead(503, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "retry-after": "5" });
      res.end(body);
      return true;
    },
  });
}

/** Starts pulling and the periodic jobs once NATS is reachable and the streams exist. */
function startProcessing(queue: QueueConnection, deps: { env: WorkerEnv; queueConfig: QueueConfig; db: Db; breaker: CircuitBreakerPolicy; metrics: WorkerMetrics; log: Logger }): Running {
  const { env, queueConfig, db, breaker, metrics, log } = deps;
  const dlq = deadLetterConfigFor(queueConfig);
  const intake = createIntake({ env, queueConfig, queue, db, dlq, breaker, metrics, log });
  const sweeper = sweepStranded(queue, queueConfig, dlq, metrics, log);
  const stopMaintenance = startMaintenance({ env, queueConfig, queue, db, dlq, breaker, intake, metrics, log });
  log.info(
    { stream: queueConfig.stream, consumer: queueConfig.consumer, deadLetters: dlq.stream, batchSize: env.WEBHOOK_BATCH_SIZE, flushMs: env.WEBHOOK_FLUSH_INTERVAL, maxWorkers: env.WEBHOOK_MAX_WORKERS, admin: env.ADMIN_TOKEN !== undefined },
    "worker started",
  );
  return { queue, dlq, intake, sweeper, stopMaintenance };
}

/**
 * Starts a worker: serves its ops endpoints at once, connects to NATS in the background (saying
 * so while it waits), then pulls webhooks and applies them to PostgreSQL in batches, acking after
 * commit.
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { env, queue: queueConfig, log } = options;
  checkRetryBudget(env.WEBHOOK_RETRY_ATTEMPTS, queueConfig.maxDeliver);
  const metrics = createWorkerMetrics();
  const db = openDatabase(env, metrics, log);
  const breaker = createDatabaseBreaker(env, metrics, log);
  const connector = createQueueConnector({
    servers: env.NATS_URL.split(","),
    name: "floodgate-worker",
    log: log.child({ component: "nats" }),
    waitLogIntervalMs: env.NATS_WAIT_LOG_MS,
    setup: async (queue) => void (await prepareStreams(queue, queueConfig)),
  });
  let running: Running | undefined;
  let closing: Promise<void> | undefined;
  const opsServer = await startOps({ env, connector, db, breaker, running: () => running, metrics });
  const started = connector.ready.then((queue) => {
    if (!closing) running = startProcessing(queue, { env, queueConfig, db, breaker, metrics, log });
  });

  return {
    connector,
    db,
    opsServer,
    metrics,
    started,
    close: () =>
      (closing ??= (async () => {
        if (running) {
          await running.intake.close();
          await running.sweeper.stop();
          running.stopMaintenance();
        }
        await connector.close();
        await closeServer(opsServer);
        await db.close();
      })()),
  };
}
