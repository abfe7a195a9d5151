/**
 * Parked events: expiry, and what a re-match costs when nothing changed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { applyEvents } from "./apply-events.js";
import { createDb, type Db } from "./db.js";
import { checkInvariant } from "./invariant.js";
import { expireParked, rematchParked } from "./parked.js";
import { createTestDatabase, makeEvent, type TestDatabase } from "./testing/index.js";

let t: TestDatabase;
let db: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  db = createDb({ databaseUrl: t.url, max: 6 });
});
afterEach(async () => {
  expect(await checkInvariant(db)).toEqual([]);
});
afterAll(async () => {
  await db?.close();
  await t?.drop();
});

let seq = 0;
const uniq = (label: string) => `${label}${++seq}`;
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("expireParked", () => {
  it("deletes parked events older than the retention, in chunks, and counts them per provider", async () => {
    const events = [
      ...Array.from({ length: 5 }, (_, i) => makeEvent({ provider: "exp-a", providerEventId: `old-a${i}`, providerMessageId: uniq("m"), status: "sent" })),
      ...Array.from({ length: 2 }, (_, i) => makeEvent({ provider: "exp-b", providerEventId: `old-b${i}`, providerMessageId: uniq("m"), status: "sent" })),
      ...Array.from({ length: 3 }, (_, i) => makeEvent({ provider: "exp-a", providerEventId: `new-a${i}`, providerMessageId: uniq("m"), status: "sent" })),
    ];
    expect(await applyEvents(db, events)).toMatchObject({ parked: 10 });
    await db.pool.query(`UPDATE parked_events SET parked_at = now() - interval '73 hours' WHERE provider_event_id LIKE 'old-%'`);
    await db.pool.query(`UPDATE parked_events SET parked_at = now() - interval '71 hours' WHERE provider_event_id LIKE 'new-%'`);

    expect(await expireParked(db, { olderThan: 72 * HOUR, chunkSize: 2 })).toEqual({ deleted: 7, byProvider: { "exp-a": 5, "exp-b": 2 } });
    const { rows } = await db.pool.query(`SELECT provider_event_id FROM parked_events WHERE provider LIKE 'exp-%' ORDER BY 1`);
    expect(rows.map((r) => r.provider_event_id)).toEqual(["new-a0", "new-a1", "new-a2"]);
    expect(await expireParked(db, { olderThan: 72 * HOUR })).toEqual({ deleted: 0, byProvider: {} });
    // A Date works too; the default retention (72 h) keeps these.
    expect(await expireParked(db)).toEqual({ deleted: 0, byProvider: {} });
    expect(await expireParked(db, { olderThan: new Date(Date.now() + 1000) })).toMatchObject({ byProvider: { "exp-a": 3 } });
  });
});

describe("rematchParked", () => {
  /** Tuples read from parked_events and recipients by everything `fn` runs on `one` (a one-connection pool). */
  async function tuplesRead(one: Db, fn: () => Promise<unknown>): Promise<number> {
    const read = async () => {
      // The test's own backend flushes its counters when asked; they are read from another one.
      await one.pool.query(`SELECT pg_stat_force_next_flush()`);
      const { rows } = await db.pool.query<{ n: string }>(
        `SELECT sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text AS n
           FROM pg_stat_user_tables WHERE relname IN ('parked_events', 'recipients')`,
      );
      return Number(rows[0]!.n);
    };
    const before = await read();
    await fn();
    return (await read()) - before;
  }

  it("with 100,000 parked events and no new recipients, a re-match reads almost nothing, even beside a long transaction", async () => {
    const N = 100_000;
    await db.pool.query(`INSERT INTO batches (id) VALUES ('cost'), ('long') ON CONFLICT DO NOTHING`);
    // A sending-side transaction that stays open throughout: the oldest transaction running.
    const long = await db.pool.connect();
    const one = createDb({ databaseUrl: t.url, max: 1 });
    try {
      await long.query("BEGIN");
      await long.query(`INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('cost-long', 'long', 'cost', 'waiting-3')`);
      await db.pool.query(
        `INSERT INTO parked_events (provider, provider_event_id, provider_message_id, type, status, raw_status, occurred_at)
         SELECT 'cost', 'e' || i, 'waiting-' || i, 'sent', 'sent', 'sent', now() FROM generate_series(1, $1) AS i`,
        [N],
      );
      await db.pool.query(
        `INSERT INTO recipients (id, batch_id, provider, provider_message_id)
         SELECT 'cost-r' || i, 'cost', 'cost', 'present-' || i FROM generate_series(1, $1) AS i`,
        [N],
      );
      // Half of them as if restored from a dump of another cluster, whose transaction ids run ahead.
      await db.pool.query(
        `UPDATE recipients SET insert_xid = ((pg_current_xact_id()::text)::bigint + 1000000000)::text::xid8
          WHERE provider = 'cost' AND id LIKE 'cost-r%' AND right(id, 1) IN ('0', '2', '4', '6', '8')`,
      );
      await db.pool.query(`VACUUM ANALYZE parked_events, recipients`);

      // A worker's first re-match looks at everything once.
      const full = await tuplesRead(one, () => rematchParked(one));
      expect(full).toBeGreaterThanOrEqual(N);
      // Then only at what changed since: here nothing (the open transaction's row is not visible).
      const probes: number[] = [];
      let idle = 0;
      for (let i = 0; i < 21; i++) {
        const started = performance.now();
        idle = Math.max(idle, await tuplesRead(one, async () => expect(await rematchParked(one)).toMatchObject({ matched: 0 })));
        probes.push(performance.now() - started);
      }
      expect(idle).toBeLessThanOrEqual(10);
      const timed: number[] = [];
      for (let i = 0; i < 21; i++) {
        const started = performance.now();
        await rematchParked(one);
        timed.push(performance.now() - started);
      }
      timed.sort((a, b) => a - b);
      const fullStarted = performance.now();
      await rematchParked(one, { fullScan: true });
      const fullMs = performance.now() - fullStarted;
      console.log(
        `[parked] ${N} parked, no new recipients, a transaction open throughout: re-match median ${timed[10]!.toFixed(2)} ms, ` +
          `max ${timed[20]!.toFixed(2)} ms, at most ${idle} tuples read; full scan ${fullMs.toFixed(1)} ms, ${full} tuples read`,
      );

      // The open transaction commits its recipient, and another one arrives: the next re-match
      // finds their two parked events, and reads little else.
      await long.query("COMMIT");
      await db.pool.query(`INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('cost-w7', 'cost', 'cost', 'waiting-7')`);
      let result: Awaited<ReturnType<typeof rematchParked>> | undefined;
      const read = await tuplesRead(one, async () => (result = await rematchParked(one)));
      expect(result).toMatchObject({ matched: 2, applied: 2 });
      expect(read).toBeLessThan(100);
    } finally {
      await long.query("ROLLBACK").catch(() => undefined);
      long.release();
      await one.close();
      await db.pool.query(`DELETE FROM parked_events WHERE provider = 'cost'`);
    }
  }, 120_000);

  it("an event parked while its recipient's insert is still open is matched once that insert commits", async () => {
    const w = createDb({ databaseUrl: t.url, max: 2 });
    const sending = await db.pool.connect();
    const b = uniq("b");
    await db.pool.query(`INSERT INTO batches (id) VALUES ($1)`, [b]);
    const event = (m: string) => makeEvent({ provider: "open", providerEventId: `${m}-e`, providerMessageId: m, status: "delivered" });
    const insert = (m: string) => sending.query(`INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ($1, $2, 'open', $1)`, [m, b]);
    try {
      await rematchParked(w); // the worker's first, full look
      // The row is inserted first, the event parked (the row is not visible yet), the re-match
      // looks (not ready), and only then the insert commits.
      const m1 = uniq("m");
      await sending.query("BEGIN");
      await insert(m1);
      expect(await applyEvents(w, [event(m1)])).toMatchObject({ parked: 1 });
      expect(await rematchParked(w)).toMatchObject({ matched: 0 });
      expect(await rematchParked(w)).toMatchObject({ matched: 0 });
      await sending.query("COMMIT");
      expect(await rematchParked(w)).toMatchObject({ matched: 1, applied: 1 });
      // The event is parked first; the insert starts later and stays open across several looks.
      const m2 = uniq("m");
      expect(await applyEvents(w, [event(m2)])).toMatchObject({ parked: 1 });
      expect(await rematchParked(w)).toMatchObject({ matched: 0 });
      await sending.query("BEGIN");
      await insert(m2);
      for (let i = 0; i < 3; i++) expect(await rematchParked(w)).toMatchObject({ matched: 0 });
      await sending.query("COMMIT");
      expect(await rematchParked(w)).toMatchObject({ matched: 1, applied: 1 });
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM recipients WHERE batch_id = $1 AND status = 'delivered'`, [b]);
      expect(rows[0].n).toBe(2);
    } finally {
      await sending.query("ROLLBACK").catch(() => undefined);
      sending.release();
      await w.close();
    }
  });

  it("never strands an event parked while its recipient's insert was still in flight (several workers, limits)", async () => {
    const workers = [createDb({ databaseUrl: t.url, max: 2 }), createDb({ databaseUrl: t.url, max: 2 })];
    const b = uniq("b");
    await db.pool.query(`INSERT INTO batches (id) VALUES ($1)`, [b]);
    const messages = Array.from({ length: 120 }, () => uniq("race"));
    let stop = false;
    const rematchers = workers.map(async (w) => {
      while (!stop) {
        await rematchParked(w, { limit: 7 });
        await sleep(5);
      }
    });
    try {
      // Each message: a slow sending-side transaction inserts the row while the worker parks its
      // event (it cannot see the uncommitted row), in every interleaving the timers produce.
      await Promise.all(
        messages.map(async (m, i) => {
          const client = await db.pool.connect();
          try {
            await sleep(i % 13);
            await client.query("BEGIN");
            await client.query(`INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ($1, $2, 'race', $1)`, [m, b]);
            const parking = applyEvents(workers[i % 2]!, [makeEvent({ provider: "race", providerEventId: `${m}-e`, providerMessageId: m, status: "delivered" })]);
            await sleep(i % 7);
            await client.query("COMMIT");
            await parking;
          } finally {
            client.release();
          }
        }),
      );
      await sleep(300);
    } finally {
      stop = true;
      await Promise.all(rematchers);
    }
    // Without a full scan, the workers' incremental re-matches must have found every event.
    for (let i = 0; i < 5; i++) for (const w of workers) await rematchParked(w, { limit: 7 });
    const { rows } = await db.pool.query(`SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered FROM recipients WHERE batch_id = $1`, [b]);
    expect(rows[0].delivered).toBe(messages.length);
    const { rows: left } = await db.pool.query(`SELECT count(*)::int AS n FROM parked_events WHERE provider = 'race'`);
    expect(left[0].n).toBe(0);
    await Promise.all(workers.map((w) => w.close()));
  }, 60_000);
});
