/**
 * `BENCH_ONLY=statements`: PostgreSQL's cost per event, statement by statement. On one connection,
 * batches of 2,000 `delivered` events are applied to fresh recipients by `applyEvents` (as the
 * worker does, its statements prepared), alternating with the raw ceiling's `UPDATE … FROM unnest`
 * of 2,000 other fresh rows: the time of each of the worker's statements and the WAL it writes,
 * per event, next to the raw UPDATE's per row (BENCH_STATEMENT_BATCHES batches of each, default 20).
 */
import { applyEvents, createDb } from "@floodgate/db";
import { createTestDatabase } from "@floodgate/db/testing";
import type pg from "pg";
import { deliveredEvent, RAW_UPDATE_SQL, withIndexLookups } from "./backlog.js";
import { add, log, round } from "./figures.js";

const BATCHES = Number(process.env.BENCH_STATEMENT_BATCHES ?? 20);
const BATCH = 2000;

/** What each statement of a connection cost: name (or the SQL of an unnamed one) → ms in all. */
type Timings = Map<string, number>;

/** Times every query of a pool's connections by statement name. */
function timeQueries(pool: pg.Pool, timings: Timings): void {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    const timed = async (...args: unknown[]) => {
      const first = args[0] as string | { name?: string; text: string };
      const name = typeof first === "string" ? first : (first.name ?? first.text);
      const started = performance.now();
      try {
        return await query(...args);
      } finally {
        timings.set(name, (timings.get(name) ?? 0) + performance.now() - started);
      }
    };
    Object.assign(client, { query: timed });
  });
}

/** WAL written so far by the whole server, bytes. */
async function walPosition(pool: pg.Pool): Promise<bigint> {
  const { rows } = await pool.query<{ at: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS at");
  return BigInt(rows[0]!.at);
}

export async function statementFigures(): Promise<void> {
  const section = "PostgreSQL cost per event";
  const database = await createTestDatabase();
  const db = createDb({ databaseUrl: database.url, max: 1, preparedStatements: true });
  const timings: Timings = new Map();
  timeQueries(db.pool, timings);
  try {
    const total = BATCHES * BATCH;
    await db.pool.query("INSERT INTO batches (id) VALUES ('bench-statements')");
    await db.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r-' || i, 'bench-statements', 'telnyx', 'm-' || i FROM generate_series(0, $1::int - 1) i", [2 * total]);
    await db.pool.query("VACUUM ANALYZE recipients");
    let walWorker = 0n;
    let walRaw = 0n;
    let rawMs = 0;
    log(`statements: ${BATCHES} batches of ${BATCH} events, each followed by the raw UPDATE of ${BATCH} other rows`);
    for (let b = 0; b < BATCHES; b++) {
      const events = Array.from({ length: BATCH }, (_, k) => deliveredEvent(`m-${b * BATCH + k}`, b * BATCH + k));
      let at = await walPosition(db.pool);
      const result = await applyEvents(db, events);
      if (result.applied !== BATCH) throw new Error(`statements bench: ${result.applied} of ${BATCH} events applied`);
      walWorker += (await walPosition(db.pool)) - at;
      const ids = Array.from({ length: BATCH }, (_, k) => `r-${total + b * BATCH + k}`);
      at = await walPosition(db.pool);
      rawMs += await withIndexLookups(db.pool, async (client) => {
        const started = performance.now();
        await client.query(RAW_UPDATE_SQL, [ids]);
        return performance.now() - started;
      });
      walRaw += (await walPosition(db.pool)) - at;
    }
    const us = (ms: number) => (ms * 1000) / total;
    const named = (name: string) => timings.get(name) ?? 0;
    const lock = named("floodgate_lock_recipients");
    const apply = named("floodgate_apply_matched");
    const transaction = named("BEGIN") + named("COMMIT");
    const worker = lock + apply + transaction;
    add({
      section,
      figure: `PostgreSQL time per event applied (applyEvents, batches of ${BATCH}, one connection)`,
      value: us(worker),
      unit: "µs",
      baseline: { what: "raw UPDATE…FROM unnest, per row", value: us(rawMs), unit: "µs" },
      ratio: worker / rawMs,
      note: `lock and match the recipients ${round(us(lock))} µs (${Math.round((lock / worker) * 100)} %), ledger + fold + update + counters ${round(us(apply))} µs (${Math.round((apply / worker) * 100)} %), BEGIN/COMMIT ${round(us(transaction))} µs`,
    });
    add({
      section,
      figure: "WAL written per event applied",
      value: Number(walWorker) / total,
      unit: "B",
      baseline: { what: "raw UPDATE, per row", value: Number(walRaw) / total, unit: "B" },
      ratio: Number(walWorker) / Number(walRaw),
      note: "the row lock, the ledger's heap row and index entry, the recipient's new version and its index entries, the batch counters",
    });
  } finally {
    await db.close();
    await database.drop();
  }
}
