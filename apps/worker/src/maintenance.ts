import { countParked, expireParked, pruneLedger, rematchParked, type Db } from "@floodgate/db";
import { countDeadLetters, readQueueStats, type DeadLetterConfig, type QueueConfig, type QueueConnection } from "@floodgate/queue";
import type { Logger } from "@floodgate/service";
import { CircuitState, type CircuitBreakerPolicy } from "cockatiel";
import type { WorkerEnv } from "./env.js";
import type { Intake } from "./intake.js";
import type { WorkerMetrics } from "./metrics.js";

export interface MaintenanceDeps {
  env: WorkerEnv;
  queueConfig: QueueConfig;
  queue: QueueConnection;
  db: Db;
  dlq: DeadLetterConfig;
  breaker: CircuitBreakerPolicy;
  intake: Intake;
  metrics: WorkerMetrics;
  log: Logger;
}

/**
 * The worker's periodic jobs: re-matching parked events, expiring those whose recipient never came,
 * pruning the ledger, and reading the queue figures for the metrics. Each runs at most once at a time; a failure is logged and retried on
 * the next tick. Returns the function that stops them.
 */
export function startMaintenance(deps: MaintenanceDeps): () => void {
  const { env, db, breaker, metrics, log } = deps;
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, what: string, fn: () => Promise<void> | void) => {
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => log.warn({ err }, `${what} failed`))
        .finally(() => (running = false));
    }, ms);
    t.unref();
    timers.push(t);
  };

  every(env.PARKED_REMATCH_INTERVAL_MS, "parked re-match", async () => {
    if (breaker.state !== CircuitState.Closed) return;
    const r = await rematchParked(db, { limit: 1000 });
    if (r.matched > 0) {
      metrics.rematched.inc(r.applied);
      log.info(r, "parked events re-matched");
    }
  });
  // A count(*) over parked_events costs ~15 ms at 100 k rows: a gauge, not worth every re-match tick.
  every(15_000, "parked count", async () => {
    if (breaker.state === CircuitState.Closed) metrics.parked.set(await countParked(db));
  });
  every(env.PARKED_EXPIRY_INTERVAL_MS, "parked expiry", async () => {
    if (breaker.state !== CircuitState.Closed) return;
    const r = await expireParked(db, { olderThan: env.PARKED_RETENTION_HOURS * 3_600_000 });
    for (const [provider, n] of Object.entries(r.byProvider)) metrics.parkedExpired.inc({ provider }, n);
    if (r.deleted > 0) {
      log.warn({ deleted: r.deleted, byProvider: r.byProvider, retentionHours: env.PARKED_RETENTION_HOURS }, "parked events expired: their recipient was never inserted");
    }
  });
  every(3_600_000, "ledger retention", async () => {
    const deleted = await pruneLedger(db, { olderThan: env.LEDGER_RETENTION_HOURS * 3_600_000 });
    if (deleted > 0) log.info({ deleted }, "ledger pruned");
  });
  every(2_000, "queue stats", () => readQueueFigures(deps));

  return () => {
    for (const t of timers) clearInterval(t);
  };
}

async function readQueueFigures({ queue, queueConfig, dlq, intake, metrics }: MaintenanceDeps): Promise<void> {
  metrics.natsConnected.set(queue.isConnected() ? 1 : 0);
  metrics.inFlight.set(intake.held);
  metrics.deadLettersPending.set(intake.deadLettersPending);
  const s = await readQueueStats(queue.jsm, queueConfig.stream, queueConfig.consumer);
  metrics.queueDepth.set(s.depth);
  metrics.lag.set(s.oldestUnprocessedAgeSeconds);
  metrics.deadLetters.set(await countDeadLetters(queue.jsm, dlq));
}
