import type { Server } from "node:http";
import { createBatcher, type Batcher } from "@floodgate/batcher";
import { applyEvents, countParked, createDb, pruneLedger, rematchParked, type ApplyResult, type Db } from "@floodgate/db";
import {
  connectQueue,
  countDeadLetters,
  createPullConsumer,
  deadLetter,
  deadLetterConfigFor,
  ensureConsumer,
  ensureDeadLetterStream,
  ensureStream,
  readQueueStats,
  type JsMsg,
  type PullConsumer,
  type QueueConfig,
  type QueueConnection,
} from "@floodgate/queue";
import { closeServer, startOpsServer, type Logger } from "@floodgate/service";
import { countEvents, encodeEvents } from "@floodgate/provider-kit";
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";
import { createAdminHandler } from "./admin.js";
import { createDeadLetterOps } from "./dead-letters.js";
import type { WorkerEnv } from "./env.js";
import { isDatabaseUnavailable } from "./failures.js";
import { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";
import { createProcessor, webhookIdOf } from "./processor.js";

export interface WorkerOptions {
  env: WorkerEnv;
  queue: QueueConfig;
  log: Logger;
}

export interface Worker {
  readonly queue: QueueConnection;
  readonly db: Db;
  readonly opsServer: Server;
  readonly metrics: WorkerMetrics;
  /** Stops pulling, applies and acks what it holds, then closes NATS and the pool. */
  close(): Promise<void>;
}

/** Messages the pull keeps buffered: enough to fill a batch, counted against WORKER_MAX_UNACKED. */
export function pullBufferSize(env: Pick<WorkerEnv, "WEBHOOK_BATCH_SIZE" | "WORKER_MAX_UNACKED">): number {
  return Math.max(1, Math.min(env.WEBHOOK_BATCH_SIZE, Math.floor(env.WORKER_MAX_UNACKED / 4), 256));
}

const BREAKER_STATE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.Open]: 1,
  [CircuitState.HalfOpen]: 2,
  [CircuitState.Isolated]: 1,
};

/** Starts a worker: pulls webhooks, applies them to PostgreSQL in batches, acks after commit. */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { env, queue: queueConfig, log } = options;
  const metrics = createWorkerMetrics();
  const db = createDb({ databaseUrl: env.DATABASE_URL, max: env.WEBHOOK_MAX_WORKERS + 2 });
  const queue = await connectQueue({ servers: env.NATS_URL.split(","), name: "floodgate-worker", log: log.child({ component: "nats" }) });
  const dlq = deadLetterConfigFor(queueConfig);
  await ensureStream(queue.jsm, queueConfig);
  await ensureConsumer(queue.jsm, queueConfig);
  await ensureDeadLetterStream(queue.jsm, dlq);

  // Opens on "database unavailable" only: data errors are the events' problem, not the database's.
  const breaker = circuitBreaker(handleWhen(isDatabaseUnavailable), {
    halfOpenAfter: env.DB_BREAKER_HALF_OPEN_MS,
    breaker: new ConsecutiveBreaker(env.DB_BREAKER_FAILURES),
  });
  breaker.onStateChange((state) => {
    metrics.breakerState.set(BREAKER_STATE[state]);
    log.warn({ state: CircuitState[state] }, "database circuit breaker changed state");
  });

  // Messages this worker holds, with when their ack timer was last reset. A batch waiting out a
  // database outage must not be redelivered to another worker (which would fail the same way
  // and burn a delivery attempt), so held messages get `working()` before ack_wait runs out.
  const held = new Map<JsMsg, number>();
  let stopping = false;

  const flush = createProcessor<JsMsg>({
    apply: (events) => applyEvents(db, events),
    deadLetter: (m, why, events) => deadLetter(queue.js, dlq, m, why, events ? encodeEvents(events) : undefined),
    breaker,
    retries: env.WEBHOOK_RETRY_ATTEMPTS,
    backoff: { baseMs: env.WEBHOOK_RETRY_BASE_MS, maxMs: env.WEBHOOK_RETRY_MAX_MS },
    maxDeliveries: Math.max(env.WEBHOOK_RETRY_ATTEMPTS + 1, queueConfig.maxDeliver - 1),
    stopping: () => stopping,
    settled: (m) => held.delete(m),
    onApplied(msgs, events, result, seconds) {
      metrics.batchDuration.observe({ result: "ok" }, seconds);
      metrics.batchSize.observe(events.length);
      const now = Date.now();
      for (const m of msgs) metrics.endToEnd.observe((now - m.info.timestampNanos / 1e6) / 1000);
      countOutcomes(metrics, result);
      if (result.invalid > 0) log.error({ invalid: result.invalid }, "events with invalid fields were skipped");
      if (log.isLevelEnabled("debug")) {
        const { byType: _byType, ...totals } = result;
        log.debug(
          { eventIds: events.map((e) => e.providerEventId), webhookIds: msgs.map(webhookIdOf).filter(Boolean), messages: msgs.length, events: events.length, ...totals, ms: Math.round(seconds * 1e4) / 10 },
          "batch applied",
        );
      }
    },
    onOutcome(outcome, m, _detail, events) {
      if (outcome === "dead_lettered") {
        // Label like the applied events (the provider's own type); an undecodable message only
        // has its subject's tokens to go by.
        const [provider, type] = events?.[0] ? [events[0].provider, events[0].type] : m.subject.split(".").slice(-2);
        metrics.processed.inc({ provider: provider ?? "unknown", type: type ?? "unknown", outcome: "dead_lettered" }, Math.max(1, events?.length ?? 1));
      } else {
        metrics.retries.inc();
      }
    },
    onHeld: () => metrics.held.inc(),
    log,
  });

  const batcher: Batcher<JsMsg> = createBatcher<JsMsg>({
    maxSize: env.WEBHOOK_BATCH_SIZE,
    maxWaitMs: env.WEBHOOK_FLUSH_INTERVAL,
    maxConcurrentFlushes: env.WEBHOOK_MAX_WORKERS,
    maxPending: Math.max(1, env.WORKER_MAX_UNACKED - pullBufferSize(env)),
    // A grouped message carries many webhooks' events: weigh messages by their events so a batch
    // stays a reasonable transaction and memory stays bounded.
    weigh: eventsIn,
    maxBatchWeight: env.WEBHOOK_BATCH_MAX_EVENTS,
    maxPendingWeight: env.WORKER_MAX_PENDING_EVENTS,
    flush,
    onFlushError(err, msgs) {
      // The processor settles every message itself; reaching here is a bug. Hand them back.
      metrics.batchFailures.inc();
      log.error({ err, messages: msgs.length }, "batch processing threw; messages nak'ed");
      for (const m of msgs) {
        m.nak(env.WEBHOOK_RETRY_BASE_MS);
        held.delete(m);
      }
    },
  });

  const consumer: PullConsumer = createPullConsumer(queue.js, {
    stream: queueConfig.stream,
    durable: queueConfig.consumer,
    maxMessages: pullBufferSize(env),
    log: log.child({ component: "consumer" }),
  });
  const consuming = consumer.consume((m) => {
    held.set(m, Date.now());
    return batcher.add(m) ? undefined : batcher.whenReady();
  });
  consuming.catch((err: unknown) => log.fatal({ err }, "consumer stopped"));

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
  const touchAfter = Math.max(100, Math.floor(queueConfig.ackWaitMs / 3));
  every(Math.max(50, Math.floor(touchAfter / 2)), "ack-timer keepalive", () => {
    const now = Date.now();
    for (const [m, touched] of held) {
      if (now - touched >= touchAfter) {
        m.working();
        held.set(m, now);
      }
    }
  });
  every(env.PARKED_REMATCH_INTERVAL_MS, "parked re-match", async () => {
    if (breaker.state !== CircuitState.Closed) return;
    const r = await rematchParked(db, { limit: 1000 });
    if (r.matched > 0) {
      metrics.rematched.inc(r.applied);
      log.info(r, "parked events re-matched");
    }
    metrics.parked.set(await countParked(db));
  });
  every(3_600_000, "ledger retention", async () => {
    const deleted = await pruneLedger(db, { olderThan: env.LEDGER_RETENTION_HOURS * 3_600_000 });
    if (deleted > 0) log.info({ deleted }, "ledger pruned");
  });
  every(2_000, "queue stats", async () => {
    metrics.natsConnected.set(queue.isConnected() ? 1 : 0);
    metrics.inFlight.set(held.size);
    const s = await readQueueStats(queue.jsm, queueConfig.stream, queueConfig.consumer);
    metrics.queueDepth.set(s.depth);
    metrics.lag.set(s.oldestUnprocessedAgeSeconds);
    metrics.deadLetters.set(await countDeadLetters(queue.jsm, dlq));
  });

  const opsServer = await startOpsServer(env.WORKER_PORT, "0.0.0.0", {
    registry: metrics.registry,
    checks: {
      nats: () => ({ ok: queue.isConnected(), detail: queue.isConnected() ? undefined : "not connected to NATS" }),
      database: async () => {
        await db.pool.query("SELECT 1");
        return { ok: true };
      },
      breaker: () => ({ ok: breaker.state === CircuitState.Closed, detail: breaker.state === CircuitState.Closed ? undefined : `circuit ${CircuitState[breaker.state]}` }),
      consumer: () => ({ ok: consumer.running, detail: consumer.running ? undefined : "consumer not running" }),
    },
    routes: createAdminHandler(createDeadLetterOps(queue, dlq), env.ADMIN_TOKEN),
  });
  log.info(
    { stream: queueConfig.stream, consumer: queueConfig.consumer, deadLetters: dlq.stream, batchSize: env.WEBHOOK_BATCH_SIZE, flushMs: env.WEBHOOK_FLUSH_INTERVAL, maxWorkers: env.WEBHOOK_MAX_WORKERS, admin: env.ADMIN_TOKEN !== undefined },
    "worker started",
  );

  let closing: Promise<void> | undefined;
  return {
    queue,
    db,
    opsServer,
    metrics,
    close: () =>
      (closing ??= (async () => {
        stopping = true;
        // Stop pulling; whatever was buffered is handed to the batcher, then flushed and acked.
        await consumer.stop();
        await batcher.close();
        for (const t of timers) clearInterval(t);
        await queue.drain();
        await closeServer(opsServer);
        await db.close();
      })()),
  };
}

/** Events in a queued message, from its header (1 when unreadable: the processor deals with it). */
function eventsIn(m: JsMsg): number {
  try {
    return Math.max(1, countEvents(m.data));
  } catch {
    return 1;
  }
}

/** Counts processed events by provider, event type and outcome. */
function countOutcomes(metrics: WorkerMetrics, result: ApplyResult): void {
  for (const o of result.byType) {
    const labels = { provider: o.provider, type: o.type };
    if (o.applied) metrics.processed.inc({ ...labels, outcome: "applied" }, o.applied);
    if (o.duplicates) metrics.processed.inc({ ...labels, outcome: "duplicate" }, o.duplicates);
    if (o.parked) metrics.processed.inc({ ...labels, outcome: "parked" }, o.parked);
    if (o.invalid) metrics.processed.inc({ ...labels, outcome: "invalid" }, o.invalid);
  }
}
