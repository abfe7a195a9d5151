/**
 * Test helpers for packages that need a real, migrated Floodgate database.
 */
import { randomBytes } from "node:crypto";
import type { NormalizedEvent } from "@floodgate/provider-kit";
import pg from "pg";
import { DEFAULT_DATABASE_URL, guardClient } from "../db.js";
import { migrate } from "../migrate.js";

/** A throw-away database created by {@link createTestDatabase}. */
export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  /** Its name, `fg_test_<random>`. */
  name: string;
  /** Drops it, closing any connection still open to it. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh database `fg_test_<random>` on the server of `baseUrl` (default: DATABASE_URL, or
 * the local default), migrated with this package's migrations.
 */
export async function createTestDatabase(baseUrl: string = process.env.DATABASE_URL || DEFAULT_DATABASE_URL): Promise<TestDatabase> {
  const name = `fg_test_${randomBytes(6).toString("hex")}`;
  const admin = new URL(baseUrl);
  admin.pathname = "/postgres";
  const target = new URL(baseUrl);
  target.pathname = `/${name}`;
  const url = target.toString();
  await migrate({ databaseUrl: url, createDatabase: true });
  return {
    url,
    name,
    async drop() {
      const client = guardClient(new pg.Client({ connectionString: admin.toString() }));
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A valid {@link NormalizedEvent} for tests; override what matters. */
export function makeEvent(overrides: Partial<NormalizedEvent> & Pick<NormalizedEvent, "providerEventId" | "providerMessageId" | "status">): NormalizedEvent {
  return {
    provider: "test",
    recipient: "",
    type: `test.${overrides.status}`,
    rawStatus: overrides.status,
    occurredAt: Date.UTC(2026, 0, 1),
    errorCode: null,
    errorMessage: null,
    ...overrides,
  };
}
