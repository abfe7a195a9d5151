import { createBatcher, type Batcher } from "@floodgate/batcher";
import { applyEvents, type ApplyResult, type Db } from "@floodgate/db";
import { countEvents, encodeEvents } from "@floodgate/provider-kit";
import { createPullConsumer, deadLetter, type DeadLetterConfig, type JsMsg, type PullConsumer, type QueueConfig, type QueueConnection } from "@floodgate/queue";
import type { Logger } from "@floodgate/service";
import type { CircuitBreakerPolicy } from "cockatiel";
import type { WorkerEnv } from "./env.js";
import type { WorkerMetrics } from "./metrics.js";
import { createProcessor, webhookIdOf, type Processor } from "./processor.js";

/**
 * How long a pull request stays open at the server. Short, because one can outlive the worker's
 * shutdown there and messages handed back must wait it out (see the processor's handBackDelayMs).
 */
const PULL_EXPIRES_MS = 5_000;

/** Messages the pull keeps buffered: enough to fill a batch, counted against WORKER_MAX_UNACKED. */
export function pullBufferSize(env: Pick<WorkerEnv, "WEBHOOK_BATCH_SIZE" | "WORKER_MAX_UNACKED">): number {
  return Math.max(1, Math.min(env.WEBHOOK_BATCH_SIZE, Math.floor(env.WORKER_MAX_UNACKED / 4), 256));
}

export interface IntakeDeps {
  env: WorkerEnv;
  queueConfig: QueueConfig;
  queue: QueueConnection;
  db: Db;
  dlq: DeadLetterConfig;
  breaker: CircuitBreakerPolicy;
  metrics: WorkerMetrics;
  log: Logger;
}

/** The worker's path from the consumer to PostgreSQL: pull, hold, batch, apply, ack. */
export interface Intake {
  /** Starts pulling; resolves when pulling ended after `close()`, rejects if it failed for good. */
  readonly consuming: Promise<void>;
  readonly consumer: PullConsumer;
  /** Messages this worker holds unacked (delivered to it and not settled yet). */
  readonly held: number;
  /** Messages waiting for the dead-letter stream to accept them. */
  readonly deadLettersPending: number;
  /** Stops pulling, applies and acks what it holds (or hands it back), then stops the keepalive. */
  close(): Promise<void>;
}

/**
 * Wires consumer → batcher → processor. Every message delivered to this worker is in `held` from
 * the moment it arrives until the processor settles it, and gets `working()` before its ack timer
 * runs out, so nothing it holds is redelivered elsewhere (burning a delivery) while it waits for a
 * batch slot, the database or the dead-letter stream. During a long hold the consumer stops pulling
 * and hands over what the client had buffered, so those are held (and kept alive) too.
 */
export function createIntake(deps: IntakeDeps): Intake {
  const { env, queueConfig, metrics, log } = deps;
  const held = new Map<JsMsg, number>();
  const consumer = createPullConsumer(deps.queue.js, {
    stream: queueConfig.stream,
    durable: queueConfig.consumer,
    maxMessages: pullBufferSize(env),
    pauseAfterMs: Math.max(100, Math.floor(queueConfig.ackWaitMs / 4)),
    expiresMs: PULL_EXPIRES_MS,
    log: log.child({ component: "consumer" }),
  });
  const processor = createBatchProcessor(deps, held, consumer.requestLifetimeMs + 1000);
  const batcher = createWorkerBatcher(env, queueConfig.maxDeliver, processor, held, metrics, log);
  const consuming = consumer.consume((m) => {
    held.set(m, Date.now());
    return batcher.add(m) ? undefined : batcher.whenReady();
  });
  consuming.catch((err: unknown) => log.fatal({ err }, "consumer stopped"));
  const keepalive = keepHeldAlive(held, queueConfig.ackWaitMs);

  return {
    consuming,
    consumer,
    get held() {
      return held.size;
    },
    get deadLettersPending() {
      return processor.deadLettersPending;
    },
    async close() {
      // Stop pulling; whatever was buffered is handed to the batcher, then flushed and acked. Held
      // batches waiting for the database, and messages waiting for the dead letters, are handed back.
      await consumer.stop();
      processor.stop();
      await batcher.close();
      await processor.idle();
      clearInterval(keepalive);
    },
  };
}

/**
 * Resets the ack timer of every held message before it runs out (`working()` once it is a third of
 * ack_wait old), so a message this worker still holds is never redelivered to another one.
 */
function keepHeldAlive(held: Map<JsMsg, number>, ackWaitMs: number): NodeJS.Timeout {
  const touchAfter = Math.max(100, Math.floor(ackWaitMs / 3));
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const [m, touched] of held) {
        if (now - touched >= touchAfter) {
          m.working();
          held.set(m, now);
        }
      }
    },
    Math.max(50, Math.floor(touchAfter / 2)),
  );
  timer.unref();
  return timer;
}

function createBatchProcessor(deps: IntakeDeps, held: Map<JsMsg, number>, handBackDelayMs: number): Processor<JsMsg> {
  const { env, queue, db, dlq, breaker, metrics, log } = deps;
  return createProcessor<JsMsg>({
    apply: (events) => applyEvents(db, events),
    deadLetter: (m, why, events) => deadLetter(queue.js, dlq, m, why, events ? encodeEvents(events) : undefined),
    breaker,
    retries: env.WEBHOOK_RETRY_ATTEMPTS,
    backoff: { baseMs: env.WEBHOOK_RETRY_BASE_MS, maxMs: env.WEBHOOK_RETRY_MAX_MS },
    handBackDelayMs,
    maxDeliver: deps.queueConfig.maxDeliver,
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
    onDeadLetterFailed: () => metrics.deadLetterFailures.inc(),
    onHeld: () => metrics.held.inc(),
    onConflict(err) {
      const sqlstate = String((err as { code?: unknown } | null)?.code ?? "unknown");
      metrics.conflicts.inc({ sqlstate });
      log.warn({ err, sqlstate }, "batch transaction conflict, retried");
    },
    log,
  });
}

function createWorkerBatcher(env: WorkerEnv, maxDeliver: number, processor: Processor<JsMsg>, held: Map<JsMsg, number>, metrics: WorkerMetrics, log: Logger): Batcher<JsMsg> {
  return createBatcher<JsMsg>({
    maxSize: env.WEBHOOK_BATCH_SIZE,
    maxWaitMs: env.WEBHOOK_FLUSH_INTERVAL,
    maxConcurrentFlushes: env.WEBHOOK_MAX_WORKERS,
    maxPending: Math.max(1, env.WORKER_MAX_UNACKED - pullBufferSize(env)),
    // A grouped message carries many webhooks' events: weigh messages by their events so a batch
    // stays a reasonable transaction and memory stays bounded.
    weigh: eventsIn,
    maxBatchWeight: env.WEBHOOK_BATCH_MAX_EVENTS,
    maxPendingWeight: env.WORKER_MAX_PENDING_EVENTS,
    flush: processor.flush,
    onFlushError(err, msgs) {
      // The processor settles every message itself; reaching here is a bug. Hand them back (but
      // never on their last delivery, which would strand them: the sweeper recovers those).
      metrics.batchFailures.inc();
      log.error({ err, messages: msgs.length }, "batch processing threw; messages nak'ed");
      for (const m of msgs) {
        if (m.info.deliveryCount < maxDeliver) m.nak(env.WEBHOOK_RETRY_BASE_MS);
        held.delete(m);
      }
    },
  });
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
