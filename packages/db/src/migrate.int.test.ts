import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { applyEvents } from "./apply-events.js";
import { createDb } from "./db.js";
import { checkInvariant } from "./invariant.js";
import { MigrationChecksumMismatchError } from "./errors.js";
import { defaultMigrationsDir, migrate, readMigrations } from "./migrate.js";
import { rematchParked } from "./parked.js";
import { STATUS_PRECEDENCE } from "./precedence.js";
import { createTestDatabase, makeEvent, type TestDatabase } from "./testing/index.js";

let t: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  t = await createTestDatabase();
  pool = new pg.Pool({ connectionString: t.url, max: 4 });
});
afterEach(async () => {
  expect(await checkInvariant(pool)).toEqual([]);
});
afterAll(async () => {
  await pool?.end();
  await t?.drop();
});

describe("migrate", () => {
  it("records migrations the way Prisma does", async () => {
    const files = await readMigrations();
    expect(files.length).toBeGreaterThan(0);
    const { rows } = await pool.query(`SELECT * FROM "_prisma_migrations" ORDER BY migration_name`);
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    for (const [i, row] of rows.entries()) {
      const bytes = await readFile(join(defaultMigrationsDir(), files[i]!.name, "migration.sql"));
      expect(row.checksum).toBe(createHash("sha256").update(bytes).digest("hex"));
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    const cols = await pool.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(cols.rows.map((c) => [c.column_name, c.data_type, c.character_maximum_length, c.is_nullable])).toEqual([
      ["id", "character varying", 36, "NO"],
      ["checksum", "character varying", 64, "NO"],
      ["finished_at", "timestamp with time zone", null, "YES"],
      ["migration_name", "character varying", 255, "NO"],
      ["logs", "text", null, "YES"],
      ["rolled_back_at", "timestamp with time zone", null, "YES"],
      ["started_at", "timestamp with time zone", null, "NO"],
      ["applied_steps_count", "integer", null, "NO"],
    ]);
  });

  it("is a no-op the second time, also when run concurrently", async () => {
    const before = await pool.query(`SELECT id, finished_at FROM "_prisma_migrations" ORDER BY id`);
    const results = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl: t.url })));
    for (const r of results) expect(r.applied).toEqual([]);
    const after = await pool.query(`SELECT id, finished_at FROM "_prisma_migrations" ORDER BY id`);
    expect(after.rows).toEqual(before.rows);
  });

  it("status_rank() in SQL agrees with STATUS_PRECEDENCE", async () => {
    const { rows } = await pool.query(
      `SELECT s, status_rank(s) AS rank FROM unnest($1::text[]) AS s`,
      [[...STATUS_PRECEDENCE, "opened", "clicked"]],
    );
    expect(rows.map((r) => r.rank)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 4, 4]);
  });

  it("refuses to run when an applied migration was edited, and applies new ones in order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fg-migrations-"));
    const other = await createTestDatabase();
    try {
      await cp(defaultMigrationsDir(), dir, { recursive: true });
      const [first] = await readMigrations(dir);
      await cp(join(dir, first!.name), join(dir, "29990101000000_more"), { recursive: true });
      await writeFile(join(dir, "29990101000000_more", "migration.sql"), `CREATE TABLE "extra" ("id" INTEGER PRIMARY KEY);\n`);
      const r = await migrate({ databaseUrl: other.url, migrationsDir: dir });
      expect(r.applied).toEqual(["29990101000000_more"]);
      expect(r.alreadyApplied).toEqual((await readMigrations()).map((f) => f.name));

      await appendFile(join(dir, first!.name, "migration.sql"), "\n-- edited\n");
      const err = await migrate({ databaseUrl: other.url, migrationsDir: dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationChecksumMismatchError);
      expect((err as Error).name).toBe("MigrationChecksumMismatchError");
      expect((err as Error).message).toContain(first!.name);
    } finally {
      await other.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("upgrades a database of the first migration in place: its rows and parked events keep working", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fg-migrations-"));
    const name = `fg_test_upgrade_${process.pid}_${Date.now()}`;
    const url = new URL(t.url);
    url.pathname = `/${name}`;
    const files = await readMigrations();
    try {
      await writeFile(join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
      await cp(join(defaultMigrationsDir(), files[0]!.name), join(dir, files[0]!.name), { recursive: true });
      await migrate({ databaseUrl: url.toString(), migrationsDir: dir });
      const old = new pg.Pool({ connectionString: url.toString(), max: 2 });
      // A deployment's data under the old key (one row per message id, addresses optional).
      await old.query(`INSERT INTO batches (id) VALUES ('old')`);
      await old.query(
        `INSERT INTO recipients (id, batch_id, provider, provider_message_id, address) VALUES
         ('r1', 'old', 'telnyx', 'm1', NULL), ('r2', 'old', 'telnyx', 'm2', '+1 555 555 0100'), ('r3', 'old', 'resend', 'm3', 'A@Example.com')`,
      );
      await old.query(
        `INSERT INTO parked_events (provider, provider_event_id, provider_message_id, recipient, type, status, raw_status, occurred_at)
         VALUES ('telnyx', 'waiting', 'm4', '+15555550199', 'message.finalized', 'delivered', 'delivered', now())`,
      );
      await old.end();

      const r = await migrate({ databaseUrl: url.toString() });
      expect(r.applied).toEqual(files.slice(1).map((f) => f.name));
      const db = createDb({ databaseUrl: url.toString(), max: 2 });
      try {
        const ev = (provider: string, m: string, recipient: string) =>
          makeEvent({ provider, providerEventId: `${m}-e`, providerMessageId: m, status: "delivered", recipient });
        expect(await applyEvents(db, [ev("telnyx", "m1", "+15555550101"), ev("telnyx", "m2", "+15555550100"), ev("resend", "m3", "someone-else@example.com")])).toMatchObject({ applied: 3 });
        // The worker's first re-match after the upgrade looks at everything, including the event
        // parked before it (no transaction recorded); its recipient arrives afterwards.
        expect(await rematchParked(db)).toMatchObject({ matched: 0 });
        await db.pool.query(`INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('r4', 'old', 'telnyx', 'm4')`);
        expect(await rematchParked(db)).toMatchObject({ matched: 1, applied: 1 });
        const { rows } = await db.pool.query(`SELECT id, status, address FROM recipients ORDER BY id`);
        expect(rows).toEqual([
          { id: "r1", status: "delivered", address: "+15555550101" },
          { id: "r2", status: "delivered", address: "+1 555 555 0100" },
          { id: "r3", status: "delivered", address: "A@Example.com" },
          { id: "r4", status: "delivered", address: "+15555550199" },
        ]);
        expect(await checkInvariant(db)).toEqual([]);
        const { rows: batch } = await db.pool.query(`SELECT total_count, delivered_count FROM batches WHERE id = 'old'`);
        expect(batch).toEqual([{ total_count: 4, delivered_count: 4 }]);
        await expect(db.pool.query(`UPDATE batches SET id = 'renamed' WHERE id = 'old'`)).rejects.toMatchObject({ code: "23503" });
      } finally {
        await db.close();
      }
    } finally {
      await pool.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rolls back a failing migration completely and records nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fg-migrations-"));
    const other = await createTestDatabase();
    try {
      await cp(defaultMigrationsDir(), dir, { recursive: true });
      await cp(join(dir, (await readMigrations(dir))[0]!.name), join(dir, "29990101000000_bad"), { recursive: true });
      await writeFile(join(dir, "29990101000000_bad", "migration.sql"), `CREATE TABLE "half" ("id" INTEGER);\nSELECT nope;\n`);
      await expect(migrate({ databaseUrl: other.url, migrationsDir: dir })).rejects.toMatchObject({ name: "MigrationFailedError" });
      const c = new pg.Client({ connectionString: other.url });
      await c.connect();
      const half = await c.query(`SELECT to_regclass('half') AS t`);
      const rows = await c.query(`SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE migration_name = '29990101000000_bad'`);
      await c.end();
      expect(half.rows[0].t).toBeNull();
      expect(rows.rows[0].n).toBe(0);
    } finally {
      await other.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
