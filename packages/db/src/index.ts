/**
 * @floodgate/db — Floodgate's PostgreSQL schema (Prisma 7), its migrations and the batch-apply
 * statements the worker runs on its hot path. See README.md for the data model and its guarantees.
 */
export { createDb, DEFAULT_DATABASE_URL, type CreateDbOptions, type Db, type DbLike } from "./db.js";
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
export { rematchParked, countParked, type RematchOptions, type RematchResult } from "./parked.js";
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
export { createPrismaClient, PrismaClient } from "./prisma.js";
export type { Batch, Recipient, AppliedEvent, ParkedEvent } from "../generated/prisma/client.js";
export * from "./errors.js";
