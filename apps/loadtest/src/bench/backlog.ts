/**
 * What the worker sections of the bench share: recipients inserted as the sending side does, a
 * backlog of `delivered` events published straight to the stream (grouped as the gateway groups
 * them under load), the raw PostgreSQL ceiling for the same rows, and the ledger count that says
 * how far the workers got.
 */
import { encodeEvents, type NormalizedEvent } from "@floodgate/provider-kit";
import { createPublisher, subjectFor } from "@floodgate/queue";
import type pg from "pg";
import type { System } from "../harness/system.js";
import { log } from "./figures.js";

/** Events per queued message in the worker runs, as the grouping gateway produces under load. */
export const GROUP = Number(process.env.BENCH_GROUP ?? 32);

/** The `delivered` event of recipient `i` (message id `messageId`), as Telnyx reports it. */
export function deliveredEvent(messageId: string, i: number): NormalizedEvent {
  return {
    provider: "telnyx",
    providerEventId: `${messageId}-e:+1555${String(i).padStart(7, "0")}`,
    providerMessageId: messageId,
    recipient: `+1555${String(i).padStart(7, "0")}`,
    type: "message.finalized",
    status: "delivered",
    rawStatus: "delivered",
    occurredAt: Date.now(),
    errorCode: null,
    errorMessage: null,
  };
}

/** Inserts batch `batch` with `n` queued recipients; returns their message ids. */
export async function insertRecipients(s: System, batch: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${batch}-${i}`);
  await s.pool.query("INSERT INTO batches (id) VALUES ($1)", [batch]);
  for (let i = 0; i < n; i += 10_000) {
    await s.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r-' || m, $1, 'telnyx', m FROM unnest($2::text[]) AS m", [batch, ids.slice(i, i + 10_000)]);
  }
  return ids;
}

/** The raw ceiling's statement: recipient rows `$1` (ids) marked delivered, as plainly as PostgreSQL can. */
export const RAW_UPDATE_SQL =
  "UPDATE recipients r SET status = 'delivered', delivered_at = now(), address = u.id, updated_at = now() FROM unnest($1::text[]) AS u(id) WHERE r.id = u.id";

/**
 * Runs `fn` on one connection of `pool` whose planner finds each row by its index, as it does on
 * a production-size table. On the bench's tables (10⁵ rows) it chose a hash join that reads the
 * whole table for every statement instead, so the "ceiling" fell as the table grew (22 k rows/s
 * at 100 k rows, 11–12 k at 200 k; 41 k and 58–60 k by index) and jumped when autovacuum's
 * statistics flipped the plan: the rounds of one run read ~40 k, ~28 k, ~55 k rows/s.
 */
export async function withIndexLookups<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("SET enable_hashjoin = off; SET enable_mergejoin = off");
    return await fn(client);
  } finally {
    await client.query("RESET enable_hashjoin; RESET enable_mergejoin").catch(() => undefined);
    client.release();
  }
}

/**
 * The raw PostgreSQL ceiling for the same kind of rows: `n` fresh recipients (batch `batch`)
 * updated by one {@link RAW_UPDATE_SQL} per 1,000 rows, one statement at a time. Rows per second.
 */
export async function rawPostgresRate(s: System, batch: string, n: number): Promise<number> {
  return rawUpdateRate(s, await insertRecipients(s, batch, n));
}

/** The raw ceiling's timed part: the rows of message ids `ids` (inserted already) updated 1,000 per statement. Rows per second. */
export async function rawUpdateRate(s: System, ids: string[]): Promise<number> {
  const rows = ids.map((m) => `r-${m}`);
  return withIndexLookups(s.pool, async (client) => {
    const started = performance.now();
    for (let i = 0; i < rows.length; i += 1000) await client.query(RAW_UPDATE_SQL, [rows.slice(i, i + 1000)]);
    return rows.length / ((performance.now() - started) / 1000);
  });
}

/** Publishes one `delivered` event per message id to the system's stream, {@link GROUP} per message. */
export async function publishBacklog(s: System, ids: string[]): Promise<void> {
  const publisher = createPublisher(s.queueConnection, { timeoutMs: 30_000, maxInFlight: 256 });
  const subject = subjectFor(s.queue.subjectPrefix, "telnyx", "message.finalized");
  log(`publishing ${ids.length} events, ${GROUP} per message`);
  const messages: Promise<unknown>[] = [];
  for (let i = 0; i < ids.length; i += GROUP) {
    const events = ids.slice(i, i + GROUP).map((id, k) => deliveredEvent(id, i + k));
    messages.push(publisher.publish(subject, encodeEvents(events), `bench:${ids[i]}`));
    if (messages.length >= 256) await Promise.all(messages.splice(0));
  }
  await Promise.all(messages);
}

/** Events recorded in the ledger so far: how many the workers have applied. */
export async function appliedCount(s: System): Promise<number> {
  return (await s.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events")).rows[0]!.n;
}
