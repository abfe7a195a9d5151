import type { DeliveryStatus, NormalizedEvent } from "@floodgate/provider-kit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { applyEvents } from "./apply-events.js";
import { createDb, type Db } from "./db.js";
import { checkInvariant, recountBatches } from "./invariant.js";
import { pruneLedger } from "./ledger.js";
import { countParked, rematchParked } from "./parked.js";
import { createTestDatabase, makeEvent, type TestDatabase } from "./testing/index.js";

let t: TestDatabase;
let db: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  db = createDb({ databaseUrl: t.url, max: 12 });
});
afterEach(async () => {
  expect(await checkInvariant(db)).toEqual([]);
});
afterAll(async () => {
  await db?.close();
  await t?.drop();
});

let seq = 0;
/** A unique prefix so each test (and each permutation) gets its own rows. */
const uniq = (label: string) => `${label}${++seq}`;

async function insertRecipients(batchId: string, messageIds: string[], provider = "test"): Promise<void> {
  await db.pool.query(`INSERT INTO batches (id) VALUES ($1) ON CONFLICT DO NOTHING`, [batchId]);
  await db.pool.query(
    `INSERT INTO recipients (id, batch_id, provider, provider_message_id)
     SELECT 'r-' || p || '-' || m, $1, p, m FROM unnest($2::text[]) AS m, (SELECT $3::text AS p) AS x`,
    [batchId, messageIds, provider],
  );
}

/** A recipient row without the columns that legitimately differ between test copies. */
async function rowOf(provider: string, messageId: string, eventPrefix = ""): Promise<Record<string, unknown>> {
  const { rows } = await db.pool.query(
    `SELECT status, address, error_code, error_message, status_event_at, status_event_id,
            queued_at, sent_at, delivered_at, delayed_at, failed_at, bounced_at, complained_at,
            unsubscribed_at, unknown_at, opened_at, clicked_at
       FROM recipients WHERE provider = $1 AND provider_message_id = $2`,
    [provider, messageId],
  );
  const row = rows[0] as Record<string, unknown>;
  expect(row).toBeDefined();
  if (typeof row.status_event_id === "string" && eventPrefix) row.status_event_id = row.status_event_id.slice(eventPrefix.length);
  return row;
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/** Deterministic PRNG (mulberry32) so failures replay. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.UTC(2026, 0, 1);

describe("plain SQL keeps the counters exact", () => {
  it("INSERT, UPDATE (status, engagement, batch_id), DELETE and TRUNCATE-free repair", async () => {
    const b1 = uniq("b");
    const b2 = uniq("b");
    await db.pool.query(`INSERT INTO batches (id) VALUES ($1), ($2)`, [b1, b2]);
    await db.pool.query(
      `INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES
       ($1 || '-1', $1, 'plain', $1 || '-m1'), ($1 || '-2', $1, 'plain', $1 || '-m2'), ($1 || '-3', $2, 'plain', $1 || '-m3')`,
      [b1, b2],
    );
    expect(await checkInvariant(db, [b1, b2])).toEqual([]);
    const { rows } = await db.pool.query(`SELECT queued_count, total_count FROM batches WHERE id = $1`, [b1]);
    expect(rows[0]).toEqual({ queued_count: 2, total_count: 2 });
    await db.pool.query(`UPDATE recipients SET status = 'sent', opened_at = now() WHERE batch_id IN ($1, $2)`, [b1, b2]);
    await db.pool.query(`UPDATE recipients SET batch_id = $2 WHERE id = $1 || '-1'`, [b1, b2]);
    await db.pool.query(`UPDATE recipients SET clicked_at = now(), status = 'complained' WHERE id = $1 || '-2'`, [b1]);
    expect(await checkInvariant(db, [b1, b2])).toEqual([]);
    await db.pool.query(`DELETE FROM recipients WHERE id = $1 || '-3'`, [b1]);
    expect(await checkInvariant(db, [b1, b2])).toEqual([]);

    // Damage done behind the triggers' back is reported, and recount repairs it.
    await db.pool.query(`UPDATE batches SET sent_count = sent_count + 5 WHERE id = $1`, [b2]);
    expect(await checkInvariant(db, [b2])).toEqual([{ batchId: b2, column: "sent_count", actual: 6, expected: 1 }]);
    expect(await recountBatches(db, [b2])).toBe(1);
    expect(await checkInvariant(db, [b2])).toEqual([]);
  });

  it("renaming a batch that has recipients is refused, so its counters cannot double", async () => {
    const b = uniq("b");
    await insertRecipients(b, [uniq("m"), uniq("m")]);
    await db.pool.query(`UPDATE recipients SET status = 'delivered' WHERE id = (SELECT min(id) FROM recipients WHERE batch_id = $1)`, [b]);
    const err = await db.pool.query(`UPDATE batches SET id = $1 || '-renamed' WHERE id = $1`, [b]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "23503", constraint: "recipients_batch_id_fkey" });
    const { rows } = await db.pool.query(`SELECT id, total_count, queued_count, delivered_count FROM batches WHERE id LIKE $1 || '%'`, [b]);
    expect(rows).toEqual([{ id: b, total_count: 2, queued_count: 1, delivered_count: 1 }]);
    expect(await checkInvariant(db)).toEqual([]);

    // The way to rename: a new batch, move the recipients (the triggers move the counts), drop the old one.
    await db.pool.query(`INSERT INTO batches (id) VALUES ($1 || '-renamed')`, [b]);
    await db.pool.query(`UPDATE recipients SET batch_id = $1 || '-renamed' WHERE batch_id = $1`, [b]);
    await db.pool.query(`DELETE FROM batches WHERE id = $1`, [b]);
    const moved = await db.pool.query(`SELECT total_count, queued_count, delivered_count FROM batches WHERE id = $1 || '-renamed'`, [b]);
    expect(moved.rows).toEqual([{ total_count: 2, queued_count: 1, delivered_count: 1 }]);
    // A batch without recipients has nothing to double and can be renamed.
    const empty = uniq("b");
    await db.pool.query(`INSERT INTO batches (id) VALUES ($1)`, [empty]);
    await db.pool.query(`UPDATE batches SET id = $1 || '-renamed' WHERE id = $1`, [empty]);
    expect(await checkInvariant(db)).toEqual([]);
  });
});

describe("applyEvents", () => {
  it("applies an event delivered five times exactly once", async () => {
    const b = uniq("b");
    const m = uniq("m");
    await insertRecipients(b, [m]);
    const e = makeEvent({ providerEventId: uniq("e"), providerMessageId: m, status: "delivered", occurredAt: T0 });
    const first = await applyEvents(db, [e, e, e]);
    const byType = (applied: number, duplicates: number) => [{ provider: "test", type: "test.delivered", applied, duplicates, parked: 0, invalid: 0 }];
    expect(first).toEqual({ applied: 1, duplicates: 2, parked: 0, unchanged: 0, invalid: 0, byType: byType(1, 2) });
    const again = await applyEvents(db, [e]);
    const last = await applyEvents(db, [e]);
    expect(again).toEqual({ applied: 0, duplicates: 1, parked: 0, unchanged: 0, invalid: 0, byType: byType(0, 1) });
    expect(last).toEqual(again);
    const { rows } = await db.pool.query(`SELECT delivered_count, queued_count, total_count FROM batches WHERE id = $1`, [b]);
    expect(rows[0]).toEqual({ delivered_count: 1, queued_count: 0, total_count: 1 });
  });

  it("uses a fixed number of statements whatever the batch size", async () => {
    const b = uniq("b");
    const ids = Array.from({ length: 500 }, () => uniq("m"));
    await insertRecipients(b, ids.slice(0, 400));
    const events = ids.map((m, i) => makeEvent({ providerEventId: `${m}-e`, providerMessageId: m, status: i % 2 ? "sent" : "delivered" }));
    let statements = 0;
    // Count round trips on every client this test's call checks out.
    const counting = new Proxy(db.pool, {
      get(target, prop, receiver) {
        if (prop === "connect") {
          return async () => {
            const c = await target.connect();
            const q = c.query.bind(c);
            (c as unknown as { query: unknown }).query = (...args: unknown[]) => {
              statements++;
              return (q as (...a: unknown[]) => unknown)(...args);
            };
            const release = c.release.bind(c);
            c.release = (err?: Error | boolean) => {
              (c as unknown as { query: unknown }).query = q;
              return release(err);
            };
            return c;
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const result = await applyEvents(counting, events);
    expect(result).toMatchObject({ applied: 400, parked: 100, duplicates: 0 });
    // Per type, the outcomes add up: 250 delivered and 250 sent, of which the last 100 ids are parked.
    const sum = (k: "applied" | "parked" | "duplicates") => result.byType.reduce((n, o) => n + o[k], 0);
    expect([sum("applied"), sum("parked"), sum("duplicates")]).toEqual([400, 100, 0]);
    expect(result.byType.map((o) => [o.type, o.applied + o.parked]).sort()).toEqual([["test.delivered", 250], ["test.sent", 250]]);
    // BEGIN, lock recipients, park, ledger+apply, COMMIT.
    expect(statements).toBe(5);
  });

  it("skips malformed events and reports them", async () => {
    const result = await applyEvents(db, [
      makeEvent({ providerEventId: "", providerMessageId: "x", status: "sent" }),
      makeEvent({ providerEventId: "x", providerMessageId: "x", status: "weird" as DeliveryStatus }),
      makeEvent({ providerEventId: "y", providerMessageId: "x", status: "sent", occurredAt: Number.NaN }),
    ]);
    expect(result).toMatchObject({ applied: 0, duplicates: 0, parked: 0, unchanged: 0, invalid: 3 });
    expect(result.byType.reduce((n, o) => n + o.invalid, 0)).toBe(3);
    expect(result.byType.every((o) => o.applied + o.duplicates + o.parked === 0)).toBe(true);
  });

  it("applies engagement without lowering a status, counting each recipient once", async () => {
    const b = uniq("b");
    const [m1, m2] = [uniq("m"), uniq("m")];
    await insertRecipients(b, [m1!, m2!]);
    const ev = (m: string, status: DeliveryStatus, dt: number) =>
      makeEvent({ providerEventId: uniq("e"), providerMessageId: m, status, occurredAt: T0 + dt });
    await applyEvents(db, [ev(m1!, "sent", 0), ev(m1!, "opened", 10), ev(m1!, "opened", 5), ev(m2!, "bounced", 1)]);
    await applyEvents(db, [ev(m2!, "opened", 20), ev(m2!, "clicked", 30), ev(m1!, "clicked", 40), ev(m1!, "clicked", 50)]);
    const r1 = await rowOf("test", m1!);
    const r2 = await rowOf("test", m2!);
    expect(r1).toMatchObject({ status: "delivered", opened_at: new Date(T0 + 5), clicked_at: new Date(T0 + 40), delivered_at: new Date(T0 + 5) });
    expect(r2).toMatchObject({ status: "bounced", opened_at: new Date(T0 + 20), clicked_at: new Date(T0 + 30) });
    const { rows } = await db.pool.query(
      `SELECT delivered_count, bounced_count, opened_count, clicked_count, total_count FROM batches WHERE id = $1`,
      [b],
    );
    expect(rows[0]).toEqual({ delivered_count: 1, bounced_count: 1, opened_count: 2, clicked_count: 2, total_count: 2 });
  });
});

describe("convergence", () => {
  const scenarios: { name: string; events: { id: string; status: DeliveryStatus; dt: number; code?: string }[]; expect: Record<string, unknown> }[] = [
    {
      name: "sent, delayed, delivered, opened, bounced",
      events: [
        { id: "e1", status: "sent", dt: 1 },
        { id: "e2", status: "delayed", dt: 2, code: "4.2.2" },
        { id: "e3", status: "delivered", dt: 3 },
        { id: "e4", status: "opened", dt: 4 },
        { id: "e5", status: "bounced", dt: 5, code: "5.1.1" },
      ],
      expect: { status: "bounced", error_code: "5.1.1", status_event_id: "e5", sent_at: new Date(T0 + 1), delivered_at: new Date(T0 + 3), opened_at: new Date(T0 + 4) },
    },
    {
      name: "ties on status and time break on the event id",
      events: [
        { id: "d1", status: "delivered", dt: 10 },
        { id: "d2", status: "delivered", dt: 5 },
        { id: "b2", status: "bounced", dt: 7, code: "X" },
        { id: "b1", status: "bounced", dt: 7, code: "Y" },
        { id: "o1", status: "opened", dt: 3 },
      ],
      expect: { status: "bounced", error_code: "Y", status_event_id: "b1", status_event_at: new Date(T0 + 7), delivered_at: new Date(T0 + 3) },
    },
  ];

  for (const scenario of scenarios) {
    it(`every permutation and every random partition ends in the same row: ${scenario.name}`, async () => {
      const perms = permutations(scenario.events);
      expect(perms.length).toBe(120);
      const random = rng(42);
      const b = uniq("b");
      // Each permutation gets its own recipient, sequentially (one event per batch) and split into
      // random consecutive chunks; round k applies the k-th chunk of every recipient at once.
      const plans = perms.flatMap((perm) => {
        const chunks: (typeof perm)[] = [];
        for (let i = 0; i < perm.length; ) {
          const n = 1 + Math.floor(random() * (perm.length - i));
          chunks.push(perm.slice(i, i + n));
          i += n;
        }
        return [perm.map((e) => [e]), chunks].map((rounds) => ({ m: uniq("m"), rounds }));
      });
      await insertRecipients(b, plans.map((p) => p.m));
      const maxRounds = Math.max(...plans.map((p) => p.rounds.length));
      for (let round = 0; round < maxRounds; round++) {
        const batch: NormalizedEvent[] = [];
        for (const p of plans) {
          for (const e of p.rounds[round] ?? []) {
            batch.push(makeEvent({ providerEventId: `${p.m}:${e.id}`, providerMessageId: p.m, status: e.status, occurredAt: T0 + e.dt, errorCode: e.code ?? null, recipient: "someone@example.com" }));
          }
        }
        // Deliver the round twice: the repeat must change nothing.
        const first = await applyEvents(db, batch);
        const repeat = await applyEvents(db, batch);
        expect(first.applied).toBe(batch.length);
        expect(repeat).toMatchObject({ applied: 0, duplicates: batch.length });
        expect(await checkInvariant(db, [b])).toEqual([]);
      }
      const reference = await rowOf("test", plans[0]!.m, `${plans[0]!.m}:`);
      expect(reference).toMatchObject(scenario.expect);
      for (const p of plans) expect(await rowOf("test", p.m, `${p.m}:`)).toEqual(reference);
      const { rows } = await db.pool.query(`SELECT total_count, ${String(scenario.expect.status)}_count AS n FROM batches WHERE id = $1`, [b]);
      expect(rows[0]).toEqual({ total_count: plans.length, n: plans.length });
    });
  }
});

describe("parallel flushes", () => {
  it("10 concurrent applyEvents over overlapping recipients and batches never deadlock and converge", async () => {
    const random = rng(7);
    const batches = Array.from({ length: 4 }, () => uniq("b"));
    const messages = Array.from({ length: 120 }, () => uniq("m"));
    for (const [i, b] of batches.entries()) {
      const mine = messages.filter((_, j) => j % batches.length === i);
      await insertRecipients(b, mine, "par");
      await insertRecipients(b, mine, "ctl");
    }
    const statuses: DeliveryStatus[] = ["sent", "delivered", "delayed", "failed", "bounced", "opened", "clicked", "unknown", "complained", "unsubscribed"];
    const pool: NormalizedEvent[] = Array.from({ length: 1500 }, (_, i) =>
      makeEvent({
        provider: "par",
        providerEventId: `pe${i}`,
        providerMessageId: messages[Math.floor(random() * messages.length)]!,
        status: statuses[Math.floor(random() * statuses.length)]!,
        occurredAt: T0 + Math.floor(random() * 50),
        errorCode: random() < 0.5 ? `c${Math.floor(random() * 5)}` : null,
      }),
    );
    for (let round = 0; round < 5; round++) {
      const flushes = Array.from({ length: 10 }, () => Array.from({ length: 100 }, () => pool[Math.floor(random() * pool.length)]!));
      const results = await Promise.all(flushes.map((f) => applyEvents(db, f)));
      for (const r of results) expect(r.applied + r.duplicates + r.parked + r.invalid).toBe(100);
      expect(await checkInvariant(db, batches)).toEqual([]);
    }
    const { rows: ledger } = await db.pool.query(`SELECT provider_event_id FROM applied_events WHERE provider = 'par'`);
    const seen = new Set(ledger.map((r) => r.provider_event_id as string));
    // The control copy gets exactly the applied events, in one sorted batch.
    const control = pool.filter((e) => seen.has(e.providerEventId)).map((e) => ({ ...e, provider: "ctl" }));
    await applyEvents(db, control);
    for (const m of messages) expect(await rowOf("par", m)).toEqual(await rowOf("ctl", m));
  });
});

describe("parking", () => {
  it("parks events for unknown messages, counts them, and applies them once the recipient appears", async () => {
    const b = uniq("b");
    const m = uniq("m");
    const before = await countParked(db);
    const e1 = makeEvent({ providerEventId: uniq("e"), providerMessageId: m, status: "delivered", occurredAt: T0 + 2 });
    const e2 = makeEvent({ providerEventId: uniq("e"), providerMessageId: m, status: "sent", occurredAt: T0 + 1, recipient: "+15550001" });
    expect(await applyEvents(db, [e1, e2])).toMatchObject({ parked: 2, applied: 0 });
    expect(await applyEvents(db, [e1])).toMatchObject({ parked: 0, duplicates: 1 });
    expect(await countParked(db)).toBe(before + 2);
    const { rows: ledger } = await db.pool.query(`SELECT count(*)::int AS n FROM applied_events WHERE provider_event_id IN ($1, $2)`, [e1.providerEventId, e2.providerEventId]);
    expect(ledger[0].n).toBe(0);

    await insertRecipients(b, [m]);
    // A redelivery arriving before the re-match is applied normally; the re-match then drops its copy.
    expect(await applyEvents(db, [e2])).toMatchObject({ applied: 1 });
    expect(await rematchParked(db, { limit: 100 })).toMatchObject({ matched: 2, applied: 1, duplicates: 1 });
    expect(await countParked(db)).toBe(before);
    expect(await rematchParked(db)).toEqual({ matched: 0, applied: 0, duplicates: 0, unchanged: 0 });
    expect(await rowOf("test", m)).toMatchObject({ status: "delivered", address: "+15550001", sent_at: new Date(T0 + 1), delivered_at: new Date(T0 + 2) });
    const { rows } = await db.pool.query(`SELECT delivered_count, total_count FROM batches WHERE id = $1`, [b]);
    expect(rows[0]).toEqual({ delivered_count: 1, total_count: 1 });
  });

  it("concurrent re-matchers and flushes apply each parked event once", async () => {
    const b = uniq("b");
    const ms = Array.from({ length: 50 }, () => uniq("m"));
    const events = ms.flatMap((m) => [
      makeEvent({ providerEventId: `${m}-s`, providerMessageId: m, status: "sent", occurredAt: T0 }),
      makeEvent({ providerEventId: `${m}-d`, providerMessageId: m, status: "delivered", occurredAt: T0 + 1 }),
    ]);
    await applyEvents(db, events);
    await insertRecipients(b, ms);
    const results = await Promise.all([
      rematchParked(db, { limit: 30 }),
      rematchParked(db, { limit: 30 }),
      applyEvents(db, events.slice(0, 40)),
      rematchParked(db, { limit: 1000 }),
    ]);
    await rematchParked(db, { limit: 1000 });
    const { rows } = await db.pool.query(`SELECT delivered_count, total_count FROM batches WHERE id = $1`, [b]);
    expect(rows[0]).toEqual({ delivered_count: 50, total_count: 50 });
    const { rows: left } = await db.pool.query(`SELECT count(*)::int AS n FROM parked_events WHERE provider_message_id = ANY ($1)`, [ms]);
    expect(left[0].n).toBe(0);
    const applied = results.reduce((n, r) => n + r.applied, 0);
    expect(applied).toBeLessThanOrEqual(100);
  });
});

describe("pruneLedger", () => {
  it("removes only rows older than the horizon, in chunks", async () => {
    await db.pool.query(
      `INSERT INTO applied_events (provider, provider_event_id, applied_at)
       SELECT 'prune', 'old' || i, now() - interval '49 hours' FROM generate_series(1, 25) AS i
       UNION ALL
       SELECT 'prune', 'new' || i, now() - interval '47 hours' FROM generate_series(1, 5) AS i`,
    );
    expect(await pruneLedger(db, { chunkSize: 7 })).toBeGreaterThanOrEqual(25);
    const { rows } = await db.pool.query(`SELECT provider_event_id FROM applied_events WHERE provider = 'prune' ORDER BY 1`);
    expect(rows.map((r) => r.provider_event_id)).toEqual(["new1", "new2", "new3", "new4", "new5"]);
    expect(await pruneLedger(db, { olderThan: new Date(Date.now() + 1000) })).toBeGreaterThanOrEqual(5);
  });
});
