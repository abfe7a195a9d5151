import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkInvariant } from "./invariant.js";
import { MigrationChecksumMismatchError } from "./errors.js";
import { defaultMigrationsDir, migrate, readMigrations } from "./migrate.js";
import { STATUS_PRECEDENCE } from "./precedence.js";
import { createTestDatabase, type TestDatabase } from "./testing/index.js";

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
      expect(r.alreadyApplied).toEqual([first!.name]);

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
