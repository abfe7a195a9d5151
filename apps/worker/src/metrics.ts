import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The worker's Prometheus metrics. */
export function createWorkerMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    processed: new Counter({
      name: "webhook_processed_total",
      help: "Normalized events processed, by provider, event type and outcome (applied, duplicate, parked, invalid, dead_lettered).",
      labelNames: ["provider", "type", "outcome"] as const,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "webhook_batch_size",
      help: "Events per applied batch.",
      buckets: [1, 5, 10, 25, 50, 100, 200, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: "webhook_batch_apply_duration_seconds",
      help: "Time to apply one batch to PostgreSQL (one transaction), by result.",
      labelNames: ["result"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    endToEnd: new Histogram({
      name: "webhook_end_to_end_seconds",
      help: "From JetStream storing a webhook to its batch committing in PostgreSQL.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    batchFailures: new Counter({
      name: "webhook_batch_failures_total",
      help: "Batches whose transaction failed; their messages were nak'ed for redelivery.",
      registers: [registry],
    }),
    parked: new Gauge({
      name: "webhook_parked_events",
      help: "Events waiting for their recipient to be inserted (unmatched provider message id).",
      registers: [registry],
    }),
    parkedExpired: new Counter({
      name: "webhook_parked_expired_total",
      help: "Parked events deleted after PARKED_RETENTION_HOURS because their recipient was never inserted, by provider.",
      labelNames: ["provider"] as const,
      registers: [registry],
    }),
    rematched: new Counter({
      name: "webhook_rematched_total",
      help: "Parked events applied once their recipient appeared.",
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "webhook_queue_depth",
      help: "Webhooks waiting on the consumer: pending (never delivered) plus unacked (in flight).",
      registers: [registry],
    }),
    lag: new Gauge({
      name: "webhook_processing_lag_seconds",
      help: "Age of the oldest unprocessed webhook in the stream.",
      registers: [registry],
    }),
    natsConnected: new Gauge({
      name: "webhook_nats_connected",
      help: "1 while the process is connected to NATS, else 0.",
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "webhook_db_circuit_state",
      help: "Database circuit breaker: 0 closed (normal), 1 open (database unavailable, pulling paused), 2 half-open (testing).",
      registers: [registry],
    }),
    deadLetters: new Gauge({
      name: "webhook_dead_letters",
      help: "Messages in the dead-letter stream, waiting for an operator to inspect, replay or purge them.",
      registers: [registry],
    }),
    retries: new Counter({
      name: "webhook_retries_total",
      help: "Messages nak'ed for a delayed retry after their events failed to apply.",
      registers: [registry],
    }),
    held: new Counter({
      name: "webhook_held_batches_total",
      help: "Times a batch was held back because the database was unavailable (no attempt used up).",
      registers: [registry],
    }),
    conflicts: new Counter({
      name: "webhook_batch_conflicts_total",
      help: "Batch transactions retried after a conflict, by SQLSTATE (40P01 deadlock, 40001 serialization failure); none is expected, as every transaction locks in one order.",
      labelNames: ["sqlstate"] as const,
      registers: [registry],
    }),
    deadLetterFailures: new Counter({
      name: "webhook_dead_letter_failures_total",
      help: "Attempts to move a message to the dead-letter stream that failed (full or unreachable); the message is kept and tried again.",
      registers: [registry],
    }),
    deadLettersPending: new Gauge({
      name: "webhook_dead_letters_pending",
      help: "Messages this worker keeps in progress because the dead-letter stream has not accepted them yet.",
      registers: [registry],
    }),
    strandedRecovered: new Counter({
      name: "webhook_stranded_recovered_total",
      help: "Messages the server stopped delivering (max_deliver reached) that were moved to the dead letters by the sweeper.",
      registers: [registry],
    }),
    dbConnectionErrors: new Counter({
      name: "webhook_db_connection_errors_total",
      help: "PostgreSQL connections lost outside a query (terminated backend, server stopped, network cut).",
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "webhook_worker_unacked_messages",
      help: "Messages this worker holds unacked (buffered plus being applied).",
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
