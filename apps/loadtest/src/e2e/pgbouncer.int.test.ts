/**
 * The workers through PgBouncer in transaction-pooling mode (Debian's pgbouncer, started by the
 * test on its own port): the pipeline tests and the database chaos, unchanged but for the
 * worker's DATABASE_URL; and how the default DATABASE_PREPARED_STATEMENTS=auto gets there.
 */
import { applyEvents, createDb } from "@floodgate/db";
import { createTestDatabase, makeEvent } from "@floodgate/db/testing";
import { describe, expect, it } from "vitest";
import { startPgBouncer } from "../harness/pgbouncer.js";
import { databaseChaos, faultFixture } from "../harness/database-chaos.js";
import { pipelineSuite } from "./pipeline-suite.js";

interface Waves {
  /** SQLSTATEs of the failed transactions, by wave. */
  failures: string[][];
  applied: number;
  /** How often `auto` turned named statements off. */
  turnedOff: number;
}

/** Applies 48 batches in 6 waves of 8 at once, through a PgBouncer of 2 server connections. */
async function applyThroughPgBouncer(preparedStatements: boolean | "auto"): Promise<Waves> {
  const database = await createTestDatabase();
  const bouncer = await startPgBouncer({ poolSize: 2 });
  let turnedOff = 0;
  const db = createDb({ databaseUrl: bouncer.through(database.url), max: 8, preparedStatements, onConnectionError: () => undefined, onPreparedStatementsOff: () => turnedOff++ });
  try {
    await db.pool.query("INSERT INTO batches (id) VALUES ('b')");
    await db.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r' || i, 'b', 'test', 'm' || i FROM generate_series(0, 47) AS i");
    const failures: string[][] = [];
    let applied = 0;
    for (let wave = 0; wave < 6; wave++) {
      failures.push([]);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, k) => applyEvents(db, [makeEvent({ provider: "test", providerEventId: `e${wave * 8 + k}`, providerMessageId: `m${wave * 8 + k}`, status: "delivered" })])),
      );
      for (const r of results) {
        if (r.status === "fulfilled") applied += r.value.applied;
        else failures[wave]!.push(String((r.reason as { code?: unknown }).code));
      }
    }
    return { failures, applied, turnedOff };
  } finally {
    await db.close();
    await bouncer.dispose();
    await database.drop();
  }
}

describe("named prepared statements behind transaction pooling", () => {
  it("break with them (the next transaction lands on a server connection that never prepared them); off applies everything", async () => {
    const prepared = (await applyThroughPgBouncer(true)).failures.flat();
    expect(prepared.length).toBeGreaterThan(0);
    expect(prepared.every((code) => code === "26000" || code === "42P05")).toBe(true);
    expect(await applyThroughPgBouncer(false)).toEqual({ failures: [[], [], [], [], [], []], applied: 48, turnedOff: 0 });
  }, 60_000);

  it("auto (the default) turns them off at the first sign, once; only transactions already under way fail, and after that wave none", async () => {
    const auto = await applyThroughPgBouncer("auto");
    const failed = auto.failures.flat();
    expect(failed.every((code) => code === "26000" || code === "42P05")).toBe(true);
    // 8 connections' first statements meet on 2 server connections: the first wave shows it.
    expect(failed.length).toBeGreaterThan(0);
    expect(auto.turnedOff).toBe(1);
    expect(auto.failures.slice(1).flat()).toEqual([]);
    expect(auto.applied).toBe(48 - failed.length);
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
