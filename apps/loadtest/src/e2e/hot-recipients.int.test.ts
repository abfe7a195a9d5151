/**
 * Four worker processes on one consumer applying a small, hot set of recipients: thousands of
 * events of every status for twelve recipients in two batches, shuffled, duplicated within and
 * across messages, so every batch of every worker contends for the same rows (recipients, ledger
 * keys, batch counters). No deadlock (PostgreSQL's own count and the workers' conflict counter
 * stay at zero), nothing dead-lettered, each event applied once, and each row ends where
 * precedence says whatever the order.
 */
import { randomUUID } from "node:crypto";
import { recipientStatusOf, statusRank } from "@floodgate/db";
import { encodeEvents, STATUSES, type NormalizedEvent } from "@floodgate/provider-kit";
import { createPublisher, subjectFor } from "@floodgate/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { scrapeSum, startSystem, type System } from "../harness/system.js";

const WORKERS = 4;
const RECIPIENTS = 12;
const EVENTS = 4000;

let sys: System;
beforeAll(async () => {
  // Small batches flushed often: many short transactions from every worker at once.
  sys = await startSystem({ workers: WORKERS, workerEnv: { WEBHOOK_BATCH_SIZE: "20", WEBHOOK_FLUSH_INTERVAL: "10" } });
}, 120_000);
afterAll(async () => {
  await sys?.stop();
});

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** `EVENTS` distinct events over the recipients' message ids: random statuses, times with ties. */
function hotEvents(messageIds: string[]): NormalizedEvent[] {
  const base = Date.UTC(2026, 11, 1);
  return Array.from({ length: EVENTS }, (_, i) => {
    const status = STATUSES[Math.floor(Math.random() * STATUSES.length)]!;
    return {
      provider: "telnyx",
      providerEventId: `hot-${i}-${randomUUID().slice(0, 8)}`,
      providerMessageId: messageIds[i % messageIds.length]!,
      recipient: "",
      type: `message.${status}`,
      status,
      rawStatus: status,
      occurredAt: base + Math.floor(Math.random() * 50) * 1000,
      errorCode: status === "failed" || status === "bounced" ? "30003" : null,
      errorMessage: status === "failed" || status === "bounced" ? `unreachable ${i}` : null,
    };
  });
}

/** The row precedence leaves: the highest rank, then the earliest, then the smallest event id (bytewise). */
function expectedRow(events: NormalizedEvent[]) {
  const byte = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const winner = [...events].sort((a, b) => statusRank(b.status) - statusRank(a.status) || a.occurredAt - b.occurredAt || byte(a.providerEventId, b.providerEventId))[0]!;
  const first = (match: (e: NormalizedEvent) => boolean) => {
    const times = events.filter(match).map((e) => e.occurredAt);
    return times.length ? new Date(Math.min(...times)).toISOString() : null;
  };
  return {
    status: recipientStatusOf(winner.status),
    status_event_id: winner.providerEventId,
    error_message: winner.errorMessage,
    delivered_at: first((e) => recipientStatusOf(e.status) === "delivered"),
    bounced_at: first((e) => e.status === "bounced"),
    clicked_at: first((e) => e.status === "clicked"),
  };
}

/** Every event once or twice (a third of them), shuffled, in messages of 1 to 40; a tenth of the messages published twice. */
async function publishShuffled(events: NormalizedEvent[]): Promise<number> {
  const copies = shuffle(events.flatMap((e, i) => (i % 3 === 0 ? [e, e] : [e])));
  const publisher = createPublisher(sys.queueConnection, { maxInFlight: 64, timeoutMs: 30_000 });
  const sends: Promise<unknown>[] = [];
  let messages = 0;
  for (let i = 0; i < copies.length; ) {
    const size = 1 + Math.floor(Math.random() * 40);
    const part = copies.slice(i, i + size);
    i += size;
    const times = Math.random() < 0.1 ? 2 : 1;
    for (let t = 0; t < times; t++) {
      // Distinct message ids: JetStream stores every copy, the ledger must recognize them.
      sends.push(publisher.publish(subjectFor(sys.queue.subjectPrefix, "telnyx", "message.finalized"), encodeEvents(part), randomUUID()));
      messages++;
    }
    if (sends.length >= 256) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  return messages;
}

async function deadlocks(): Promise<number> {
  const { rows } = await sys.pool.query<{ n: string }>("SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = $1", [sys.database.name]);
  return Number(rows[0]?.n ?? 0);
}

describe(`${WORKERS} workers on a hot set of ${RECIPIENTS} recipients`, () => {
  it("apply every event once with no deadlock, and each row ends where precedence says", async () => {
    const batches = [`hot-a-${randomUUID()}`, `hot-b-${randomUUID()}`];
    const messageIds = Array.from({ length: RECIPIENTS }, () => randomUUID());
    for (const b of batches) await sys.pool.query("INSERT INTO batches (id) VALUES ($1)", [b]);
    await sys.pool.query(
      "INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r-' || m, ($1::text[])[1 + (i % 2)::int], 'telnyx', m FROM unnest($2::text[]) WITH ORDINALITY AS u(m, i)",
      [batches, messageIds],
    );
    const deadlocksBefore = await deadlocks();
    const events = hotEvents(messageIds);
    const messages = await publishShuffled(events);

    const ids = events.map((e) => e.providerEventId);
    const ledger = async () => (await sys.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events WHERE provider = 'telnyx' AND provider_event_id = ANY($1::text[])", [ids])).rows[0]!.n;
    await waitFor("every event applied", async () => (await ledger()) === EVENTS, 120_000, 250);
    await waitFor("every message acked", async () => {
      const info = await sys.queueConnection.jsm.consumers.info(sys.queue.stream, sys.queue.consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 60_000, 250);

    // Each event once, and the copies all recognized as duplicates by the ledger.
    expect(await ledger()).toBe(EVENTS);
    let applied = 0;
    let conflicts = 0;
    for (let w = 0; w < WORKERS; w++) {
      applied += await scrapeSum(sys.workerMetricsUrl(w), "webhook_processed_total", 'outcome="applied"');
      conflicts += await scrapeSum(sys.workerMetricsUrl(w), "webhook_batch_conflicts_total");
      expect(await scrapeSum(sys.workerMetricsUrl(w), "webhook_processed_total", 'outcome="dead_lettered"')).toBe(0);
    }
    expect(applied).toBe(EVENTS);
    expect(conflicts).toBe(0);
    expect(await sys.deadLetterCount()).toBe(0);
    await sys.assertInvariant();

    const { rows } = await sys.pool.query<{ provider_message_id: string; status: string }>(
      `SELECT provider_message_id, status, status_event_id, error_message,
              to_char(delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS delivered_at,
              to_char(bounced_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS bounced_at,
              to_char(clicked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS clicked_at
         FROM recipients WHERE provider_message_id = ANY($1::text[])`,
      [messageIds],
    );
    expect(rows).toHaveLength(RECIPIENTS);
    for (const row of rows) {
      const mine = events.filter((e) => e.providerMessageId === row.provider_message_id);
      expect(row).toEqual({ provider_message_id: row.provider_message_id, ...expectedRow(mine) });
    }
    const { rows: counters } = await sys.pool.query<{ total: number; queued: number }>(
      "SELECT sum(total_count)::int AS total, sum(queued_count)::int AS queued FROM batches WHERE id = ANY($1::text[])",
      [batches],
    );
    expect(counters[0]).toEqual({ total: RECIPIENTS, queued: rows.filter((r) => r.status === "queued").length });

    // PostgreSQL's own count: a backend writes its statistics before it leaves pg_stat_activity.
    for (const w of sys.workers) await w.stop();
    await waitFor("worker backends gone", async () => (await sys.pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'floodgate-worker'", [sys.database.name])).rowCount === 0, 20_000);
    for (const w of sys.workers) expect(w.output()).not.toMatch(/40P01|deadlock/);
    expect(await deadlocks()).toBe(deadlocksBefore);
    console.log(`[hot] workers=${WORKERS} recipients=${RECIPIENTS} events=${EVENTS} messages=${messages} conflicts=${conflicts}`);
  }, 240_000);
});
