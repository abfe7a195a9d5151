import { ConfigError, enumVar, intVar, parseEnv, secretVar, stringVar, urlVar } from "@floodgate/service";

/** The worker's configuration, read once from the environment. */
export function readWorkerEnv(env: NodeJS.ProcessEnv = process.env) {
  return parseEnv(
    {
      NATS_URL: urlVar("nats://127.0.0.1:4222", ["nats:", "tls:"]),
      DATABASE_URL: urlVar("postgresql://postgres@127.0.0.1:5432/floodgate", ["postgresql:", "postgres:"]),
      /**
       * Named prepared statements for the hot path, once per connection. `auto`: until the server
       * answers that one is missing or already exists, which is what PgBouncer in transaction mode
       * (1.18–1.20, or later ones without max_prepared_statements) causes; then unnamed ones. `on`
       * and `off` force either.
       */
      DATABASE_PREPARED_STATEMENTS: enumVar(["auto", "on", "off"] as const, "auto"),
      /** Messages per batch: a batch is applied as soon as it has this many. */
      WEBHOOK_BATCH_SIZE: intVar(100, 1, 10_000),
      /** A batch that is not full is applied this long after its first message arrived. */
      WEBHOOK_FLUSH_INTERVAL: intVar(1000, 1, 600_000),
      /** Batches applied at once (each in its own transaction and connection). */
      WEBHOOK_MAX_WORKERS: intVar(10, 1, 200),
      /** Unacked messages this worker holds at most (pull buffer included). */
      WORKER_MAX_UNACKED: intVar(1000, 2, 100_000),
      /** A batch is applied before its messages would carry more events than this (grouped messages hold many). */
      WEBHOOK_BATCH_MAX_EVENTS: intVar(2000, 1, 100_000),
      /** Events this worker holds at most (bounds its memory whatever the message sizes). */
      WORKER_MAX_PENDING_EVENTS: intVar(10_000, 1, 1_000_000),
      /** While NATS is unreachable, "waiting for NATS" is logged this often. */
      NATS_WAIT_LOG_MS: intVar(10_000, 100, 600_000),
      /** Health and metrics endpoints. */
      WORKER_PORT: intVar(6002, 0, 65535),
      /** Address the health/metrics/admin server binds to. */
      HOST: stringVar("0.0.0.0", /^[0-9a-fA-F.:]+$|^localhost$/, "an IP address to listen on"),
      /** How often parked events are re-matched against newly inserted recipients. */
      PARKED_REMATCH_INTERVAL_MS: intVar(1000, 50, 3_600_000),
      /** Parked events (no recipient row yet) older than this are deleted, counted and logged. */
      PARKED_RETENTION_HOURS: intVar(72, 1, 24 * 365),
      /** How often parked events are checked for expiry. */
      PARKED_EXPIRY_INTERVAL_MS: intVar(3_600_000, 1000, 86_400_000),
      /** Applied-event ledger rows older than this are pruned (must exceed the providers' retry horizon, ~28 h for Resend). */
      LEDGER_RETENTION_HOURS: intVar(48, 29, 24 * 365),
      /** Retries of a message whose events failed to apply, before it is dead-lettered. */
      WEBHOOK_RETRY_ATTEMPTS: intVar(3, 0, 100),
      /** First retry delay; doubles per attempt, with jitter. */
      WEBHOOK_RETRY_BASE_MS: intVar(1000, 1, 3_600_000),
      WEBHOOK_RETRY_MAX_MS: intVar(60_000, 1, 86_400_000),
      /** Consecutive "database unavailable" failures that open the circuit breaker. */
      DB_BREAKER_FAILURES: intVar(3, 1, 1000),
      /** How long the open breaker waits before letting one test transaction through. */
      DB_BREAKER_HALF_OPEN_MS: intVar(2000, 10, 600_000),
      /** Bearer token for the admin API (/admin/dead-letters); unset disables the API. */
      ADMIN_TOKEN: secretVar().refine((v) => v === undefined || v.length >= 16, { message: "must be at least 16 characters" }),
      SHUTDOWN_TIMEOUT_MS: intVar(25_000, 100, 600_000),
      LOG_LEVEL: enumVar(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
    },
    env,
  );
}

export type WorkerEnv = ReturnType<typeof readWorkerEnv>;

/**
 * Checks that failing messages can reach the dead letters before the server gives up on them: a
 * message needs 1 + WEBHOOK_RETRY_ATTEMPTS deliveries to fail, and one more is kept in reserve for
 * moving it (the last allowed delivery is never spent on processing, see the processor). With
 * fewer, the server would stop delivering a failing message (max_deliver) and leave it stranded.
 * @throws {ConfigError} naming both variables.
 */
export function checkRetryBudget(retryAttempts: number, maxDeliver: number): void {
  if (retryAttempts + 2 <= maxDeliver) return;
  throw new ConfigError(
    `invalid environment:\n  WEBHOOK_RETRY_ATTEMPTS (${retryAttempts}) must be at most WEBHOOK_MAX_DELIVER - 2 (${maxDeliver - 2}): ` +
      `a failing message needs 1 + ${retryAttempts} deliveries and one more to be moved to the dead letters; ` +
      `raise WEBHOOK_MAX_DELIVER to at least ${retryAttempts + 2} or lower WEBHOOK_RETRY_ATTEMPTS`,
  );
}
