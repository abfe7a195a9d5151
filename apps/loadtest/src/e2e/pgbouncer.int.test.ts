/**
 * The workers through PgBouncer in transaction-pooling mode (Debian's pgbouncer, started by the
 * test on its own port): the pipeline tests and the database chaos, unchanged but for the
 * worker's DATABASE_URL (and DATABASE_PREPARED_STATEMENTS=off); and why that setting exists.
 */
import { applyEvents, createDb } from "@floodgate/db";
import { createTestDatabase, makeEvent } from "@floodgate/db/testing";
import { describe, expect, it } from "vitest";
import { startPgBouncer } from "../harness/pgbouncer.js";
import { databaseChaos, faultFixture } from "../harness/database-chaos.js";
import { pipelineSuite } from "./pipeline-suite.js";

/** Applies 48 batches, 8 at a time, through a PgBouncer of 2 server connections; returns the failures' SQLSTATEs. */
async function applyThroughPgBouncer(preparedStatements: boolean): Promise<{ failures: string[]; applied: number }> {
  const database = await createTestDatabase();
  const bouncer = await startPgBouncer({ poolSize: 2 });
  const db = createDb({ databaseUrl: bouncer.through(database.url), max: 8, preparedStatements, onConnectionError: () => undefined });
  try {
    await db.pool.query("INSERT INTO batches (id) VALUES ('b')");
    await db.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r' || i, 'b', 'test', 'm' || i FROM generate_series(0, 47) AS i");
    const failures: string[] = [];
    let applied = 0;
    for (let wave = 0; wave < 6; wave++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, k) => applyEvents(db, [makeEvent({ provider: "test", providerEventId: `e${wave * 8 + k}`, providerMessageId: `m${wave * 8 + k}`, status: "delivered" })])),
      );
      for (const r of results) {
        if (r.status === "fulfilled") applied += r.value.applied;
        else failures.push(String((r.reason as { code?: unknown }).code));
      }
    }
    return { failures, applied };
  } finally {
    await db.close();
    await bouncer.dispose();
    await database.drop();
  }
}

describe("named prepared statements behind transaction pooling", () => {
  it("break with them (the next transaction lands on a server connection that never prepared them); DATABASE_PREPARED_STATEMENTS=off applies everything", async () => {
    const prepared = await applyThroughPgBouncer(true);
    expect(prepared.failures.length).toBeGreaterThan(0);
    expect(prepared.failures.every((code) => code === "26000" || code === "42P05")).toBe(true);
    expect(await applyThroughPgBouncer(false)).toEqual({ failures: [], applied: 48 });
  }, 60_000);
});

describe("the pipeline through PgBouncer (transaction mode)", () => {
  pipelineSuite({ pgbouncer: true });
});

describe("database faults through PgBouncer: it stays up while PostgreSQL goes away", () => {
  const fx = faultFixture();
  it("connections terminated and the server stopped under load: the worker stays up, holds the work while PgBouncer answers for the server, every event applies exactly once", async () => {
    await databaseChaos(fx, { rounds: 3, pgbouncer: true });
  }, 420_000);
});
