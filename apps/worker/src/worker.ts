import type { Server } from "node:http";
import { createBatcher, type Batcher } from "@floodgate/batcher";
import { applyEvents, countParked, createDb, pruneLedger, rematchParked, type Db } from "@floodgate/db";
import { decodeEvents, type NormalizedEvent } from "@floodgate/provider-kit";
import {
  connectQueue,
  createPullConsumer,
  ensureConsumer,
  ensureStream,
  readQueueStats,
  type JsMsg,
  type PullConsumer,
  type QueueConfig,
  type QueueConnection,
} from "@floodgate/queue";
import { closeServer, startOpsServer, type Logger } from "@floodgate/service";
import type { WorkerEnv } from "./env.js";
import { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";

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

/** Redelivery delays after a failed batch, by delivery attempt (ms); the last one repeats. */
export const RETRY_DELAYS_MS = [1_000, 5_000, 15_000, 30_000, 60_000];

/** Delay before redelivering a message that has been delivered `deliveryCount` times. */
export function retryDelay(deliveryCount: number): number {
  return RETRY_DELAYS_MS[Math.min(Math.max(deliveryCount, 1), RETRY_DELAYS_MS.length) - 1]!;
}

/** Messages the pull keeps buffered: enough to fill a batch, counted against WORKER_MAX_UNACKED. */
export function pullBufferSize(env: Pick<WorkerEnv, "WEBHOOK_BATCH_SIZE" | "WORKER_MAX_UNACKED">): number {
  return Math.max(1, Math.min(env.WEBHOOK_BATCH_SIZE, Math.floor(env.WORKER_MAX_UNACKED / 4), 256));
}

/** Starts a worker: pulls webhooks, applies them to PostgreSQL in batches, acks after commit. */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { env, queue: queueConfig, log } = options;
  const metrics = createWorkerMetrics();
  const db = createDb({ databaseUrl: env.DATABASE_URL, max: env.WEBHOOK_MAX_WORKERS + 2 });
  const queue = await connectQueue({ servers: env.NATS_URL.split(","), name: "floodgate-worker", log: log.child({ component: "nats" }) });
  await ensureStream(queue.jsm, queueConfig);
  await ensureConsumer(queue.jsm, queueConfig);

  const flush = async (msgs: JsMsg[]): Promise<void> => {
    const events: NormalizedEvent[] = [];
    const usable: JsMsg[] = [];
    for (const m of msgs) {
      try {
        const decoded = decodeEvents(m.data);
        for (const e of decoded) events.push(e);
        usable.push(m);
      } catch (err) {
        // A message we cannot decode will never apply; keep it out of the batch so the rest
        // commits, and hold it back for a long while so an operator can look at it.
        log.error({ err, seq: m.seq, subject: m.subject, deliveries: m.info.deliveryCount }, "undecodable message");
        m.nak(RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1]);
      }
    }
    if (usable.length === 0) return;
    const started = performance.now();
    const result = await applyEvents(db, events);
    const seconds = (performance.now() - started) / 1000;
    metrics.batchDuration.observe({ result: "ok" }, seconds);
    metrics.batchSize.observe(events.length);
    // Acks go out only now, after COMMIT: a crash before this line redelivers, and the ledger
    // makes the redelivery change nothing.
    const now = Date.now();
    for (const m of usable) {
      m.ack();
      metrics.endToEnd.observe((now - m.info.timestampNanos / 1e6) / 1000);
    }
    countOutcomes(metrics, events, result);
    if (result.invalid > 0) log.error({ invalid: result.invalid }, "events with invalid fields were skipped");
    log.debug({ messages: usable.length, events: events.length, ...result, ms: seconds * 1000 }, "batch applied");
  };

  const batcher: Batcher<JsMsg> = createBatcher<JsMsg>({
    maxSize: env.WEBHOOK_BATCH_SIZE,
    maxWaitMs: env.WEBHOOK_FLUSH_INTERVAL,
    maxConcurrentFlushes: env.WEBHOOK_MAX_WORKERS,
    maxPending: Math.max(1, env.WORKER_MAX_UNACKED - pullBufferSize(env)),
    flush,
    onFlushError(err, msgs) {
      metrics.batchFailures.inc();
      metrics.batchDuration.observe({ result: "error" }, 0);
      log.error({ err, messages: msgs.length }, "batch failed; messages nak'ed for redelivery");
      for (const m of msgs) m.nak(retryDelay(m.info.deliveryCount));
    },
  });

  const consumer: PullConsumer = createPullConsumer(queue.js, {
    stream: queueConfig.stream,
    durable: queueConfig.consumer,
    maxMessages: pullBufferSize(env),
    log: log.child({ component: "consumer" }),
  });
  const consuming = consumer.consume((m) => (batcher.add(m) ? undefined : batcher.whenReady()));
  consuming.catch((err: unknown) => log.fatal({ err }, "consumer stopped"));

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, what: string, fn: () => Promise<void>) => {
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      fn()
        .catch((err: unknown) => log.warn({ err }, `${what} failed`))
        .finally(() => (running = false));
    }, ms);
    t.unref();
    timers.push(t);
  };
  every(env.PARKED_REMATCH_INTERVAL_MS, "parked re-match", async () => {
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
    metrics.inFlight.set(batcher.stats().pending);
    const s = await readQueueStats(queue.jsm, queueConfig.stream, queueConfig.consumer);
    metrics.queueDepth.set(s.depth);
    metrics.lag.set(s.oldestUnprocessedAgeSeconds);
  });

  const opsServer = await startOpsServer(env.WORKER_PORT, "0.0.0.0", {
    registry: metrics.registry,
    checks: {
      nats: () => ({ ok: queue.isConnected(), detail: queue.isConnected() ? undefined : "not connected to NATS" }),
      database: async () => {
        await db.pool.query("SELECT 1");
        return { ok: true };
      },
      consumer: () => ({ ok: consumer.running, detail: consumer.running ? undefined : "consumer not running" }),
    },
  });
  log.info({ stream: queueConfig.stream, consumer: queueConfig.consumer, batchSize: env.WEBHOOK_BATCH_SIZE, flushMs: env.WEBHOOK_FLUSH_INTERVAL, maxWorkers: env.WEBHOOK_MAX_WORKERS }, "worker started");

  let closing: Promise<void> | undefined;
  return {
    queue,
    db,
    opsServer,
    metrics,
    close: () =>
      (closing ??= (async () => {
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

/** Counts processed events; the totals of one batch are attributed by provider and type. */
function countOutcomes(metrics: WorkerMetrics, events: readonly NormalizedEvent[], result: { applied: number; duplicates: number; parked: number; invalid: number }): void {
  if (events.length === 0) return;
  const first = events[0]!;
  const uniform = events.every((e) => e.provider === first.provider && e.type === first.type);
  const provider = uniform ? first.provider : "mixed";
  const type = uniform ? first.type : "mixed";
  if (result.applied) metrics.processed.inc({ provider, type, outcome: "applied" }, result.applied);
  if (result.duplicates) metrics.processed.inc({ provider, type, outcome: "duplicate" }, result.duplicates);
  if (result.parked) metrics.processed.inc({ provider, type, outcome: "parked" }, result.parked);
  if (result.invalid) metrics.processed.inc({ provider, type, outcome: "invalid" }, result.invalid);
}
