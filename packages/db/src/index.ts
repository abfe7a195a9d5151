/**
 * @floodgate/db — Floodgate's PostgreSQL schema (Prisma 7), its migrations and the batch-apply
 * statements the worker runs on its hot path. See README.md for the data model and its guarantees.
 */
export { createDb, guardClient, DEFAULT_DATABASE_URL, type CreateDbOptions, type Db, type DbLike } from "./db.js";
export { classifyDatabaseError, classifySqlState, type DatabaseFailure } from "./sql-errors.js";
export {
  migrate,
  readMigrations,
  createDatabaseIfMissing,
  defaultMigrationsDir,
  PRISMA_MIGRATE_ADVISORY_LOCK,
  type MigrateOptions,
  type MigrateResult,
  type MigrationFile,
} from "./migrate.js";
export { applyEvents, type ApplyResult, type TypeOutcome } from "./apply-events.js";
export {
  rematchParked,
  countParked,
  expireParked,
  DEFAULT_PARKED_RETENTION_MS,
  DEFAULT_PARKED_FULL_SCAN_INTERVAL_MS,
  type RematchOptions,
  type RematchResult,
  type ExpireParkedOptions,
  type ExpireParkedResult,
} from "./parked.js";
export { pruneLedger, DEFAULT_LEDGER_RETENTION_MS, type PruneLedgerOptions } from "./ledger.js";
export {
  checkInvariant,
  recountBatches,
  CHECK_INVARIANT_SQL,
  RECOUNT_SQL,
  COUNTER_COLUMNS,
  type InvariantViolation,
} from "./invariant.js";
export {
  STATUS_PRECEDENCE,
  ENGAGEMENT_STATUSES,
  recipientStatusOf,
  statusRank,
  type RecipientStatus,
} from "./precedence.js";
// The typed Prisma client lives at `@floodgate/db/prisma`: loading it costs ~30 MB of RSS, which
// the worker's hot path (raw set-based SQL on a pg pool) does not need.
export * from "./errors.js";
