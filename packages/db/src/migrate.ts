import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { guardClient } from "./db.js";
import {
  MigrationChecksumMismatchError,
  MigrationFailedBeforeError,
  MigrationFailedError,
  MigrationsDirectoryError,
} from "./errors.js";

/** The advisory lock key `prisma migrate` takes, so our runner and Prisma's exclude each other. */
export const PRISMA_MIGRATE_ADVISORY_LOCK = 72707369;

/** DDL of the history table, as Prisma's schema engine creates it on PostgreSQL. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Database to migrate. */
  databaseUrl: string;
  /** Create the database first when it does not exist (default true). */
  createDatabase?: boolean;
  /** Folder holding `migration_lock.toml` and `<timestamp>_<name>/migration.sql` (default: this package's). */
  migrationsDir?: string;
  /** Progress lines (default: silent). */
  log?: (line: string) => void;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that were already applied. */
  alreadyApplied: string[];
  /** Applied migrations recorded in the database with no folder here (a newer deployment's). */
  unknownInDatabase: string[];
}

/** A migration found on disk. */
export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 hex of migration.sql's bytes, as Prisma records it. */
  checksum: string;
}

/** This package's `prisma/migrations`, found from this module's location (works from src and dist). */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "prisma", "migrations");
    if (existsSync(join(candidate, "migration_lock.toml"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new MigrationsDirectoryError("Could not find prisma/migrations above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Reads and checksums the migrations in `dir`, ordered by folder name as Prisma orders them. */
export async function readMigrations(dir: string = defaultMigrationsDir()): Promise<MigrationFile[]> {
  let lock: string;
  try {
    lock = await readFile(join(dir, "migration_lock.toml"), "utf8");
  } catch (cause) {
    throw new MigrationsDirectoryError(`No migration_lock.toml in ${dir}`, { cause });
  }
  const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(lock)?.[1];
  if (provider !== "postgresql") {
    throw new MigrationsDirectoryError(`${dir}/migration_lock.toml is for provider "${provider}", not "postgresql"`);
  }
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name, "migration.sql"));
      return { name, sql: bytes.toString("utf8"), checksum: createHash("sha256").update(bytes).digest("hex") };
    }),
  );
}

/** Creates the database named in `databaseUrl` if it does not exist (connects to `postgres` to do so). */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!name) throw new MigrationsDirectoryError(`DATABASE_URL names no database: ${databaseUrl}`);
  url.pathname = "/postgres";
  const admin = guardClient(new pg.Client({ connectionString: url.toString() }));
  await admin.connect();
  try {
    const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return true;
    } catch (err) {
      // Another process created it between our check and our CREATE.
      if ((err as { code?: string }).code === "42P04") return false;
      throw err;
    }
  } finally {
    await admin.end();
  }
}

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies pending migrations the way `prisma migrate deploy` does, without Prisma's schema engine:
 * under Prisma's advisory lock, recording each in `_prisma_migrations` with Prisma's checksum, so
 * `prisma migrate deploy` elsewhere agrees about what is applied. Each migration runs in its own
 * transaction together with its history row. Refuses to run when an applied migration was edited or
 * a previous one failed half-way.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const log = options.log ?? (() => undefined);
  const migrations = await readMigrations(options.migrationsDir);
  if (options.createDatabase ?? true) {
    if (await createDatabaseIfMissing(options.databaseUrl)) log(`created database ${new URL(options.databaseUrl).pathname.slice(1)}`);
  }
  const client = guardClient(new pg.Client({ connectionString: options.databaseUrl }));
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_ADVISORY_LOCK]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<HistoryRow>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
      );
      const live = rows.filter((r) => r.rolled_back_at === null);
      const failed = live.find((r) => r.finished_at === null);
      if (failed) throw new MigrationFailedBeforeError(failed.migration_name);
      const applied = new Map(live.map((r) => [r.migration_name, r]));
      const onDisk = new Set(migrations.map((m) => m.name));
      const result: MigrateResult = {
        applied: [],
        alreadyApplied: [],
        unknownInDatabase: [...applied.keys()].filter((n) => !onDisk.has(n)),
      };
      // Check every applied migration before applying anything, so an edited history stops us early.
      for (const m of migrations) {
        const row = applied.get(m.name);
        if (row && row.checksum !== m.checksum) throw new MigrationChecksumMismatchError(m.name, row.checksum, m.checksum);
        if (row) result.alreadyApplied.push(m.name);
      }
      for (const m of migrations) {
        if (applied.has(m.name)) continue;
        log(`applying ${m.name}`);
        try {
          await client.query("BEGIN");
          const id = randomUUID();
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
            [id, m.checksum, m.name],
          );
          await client.query(m.sql);
          await client.query(
            `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
            [id],
          );
          await client.query("COMMIT");
        } catch (cause) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw new MigrationFailedError(m.name, { cause });
        }
        result.applied.push(m.name);
      }
      return result;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_ADVISORY_LOCK]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}
