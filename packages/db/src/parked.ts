import type pg from "pg";
import { applyMatched, lockRecipients } from "./apply-events.js";
import { inTransaction, poolOf, type DbLike } from "./db.js";

/** Options of {@link rematchParked}. */
export interface RematchOptions {
  /** At most this many parked events per call (default 1000). */
  limit?: number;
  /** Look at every parked event this time, not only at what changed since the last call. */
  fullScan?: boolean;
  /**
   * Look at every parked event at least this often (default 15 min): the incremental look sees
   * recipients inserted and events parked since the last call, not addresses edited or sibling
   * rows deleted later, which can also make a parked event match.
   */
  fullScanIntervalMs?: number;
}

/** What {@link rematchParked} did. */
export interface RematchResult {
  /** Parked events whose recipient now exists, taken out of `parked_events` by this call. */
  matched: number;
  /** Of those, events applied now. */
  applied: number;
  /** Of those, events already applied by another route (a redelivery); dropped from parking. */
  duplicates: number;
  /** Of `applied`, events that did not change their recipient row. */
  unchanged: number;
}

/** Default of {@link RematchOptions.fullScanIntervalMs}. */
export const DEFAULT_PARKED_FULL_SCAN_INTERVAL_MS = 15 * 60 * 1000;

/**
 * A parked event `c` is ready when its message has exactly one recipient row, or a row whose
 * address key is the event's: the rule applyEvents matches by (README.md).
 */
const READY = `EXISTS (
      SELECT 1 FROM recipients r
       WHERE r.provider = c.provider AND r.provider_message_id = c.provider_message_id
         AND (floodgate_address_key(r.address) = floodgate_address_key(c.recipient)
              OR NOT EXISTS (SELECT 1 FROM recipients o
                              WHERE o.provider = r.provider AND o.provider_message_id = r.provider_message_id AND o.id <> r.id)))`;

/**
 * The probes return, on a row of their own, their snapshot's xmax (the first transaction id not yet
 * assigned when it was taken) and its list of transactions in progress, followed by up to $1 ready
 * events.
 */
const probe = (candidates: string) => `
SELECT s.xmax, s.xip, c.provider, c.provider_event_id, c.provider_message_id, c.recipient
  FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
               ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x) AS xip) s
  LEFT JOIN LATERAL (
    SELECT c.provider, c.provider_event_id, c.provider_message_id, c.recipient
      FROM (${candidates}) c
     WHERE ${READY}
     ORDER BY c.parked_at, c.provider, c.provider_event_id
     LIMIT $1
  ) c ON true`;

const FULL_PROBE_SQL = probe(`SELECT provider, provider_event_id, provider_message_id, recipient, parked_at FROM parked_events`);

/**
 * Only what changed since the previous probe: events parked by, and parked events of recipients
 * inserted by, transactions that started after it ($2: its xmax) or that it saw in progress and
 * have finished since ($3). Both tables record their inserting transaction, indexed: nothing
 * changed, nothing read. $2 and $3 are values, not subqueries, so the plan is made for them. The
 * upper bound changes nothing for this cluster's own transactions (none from this snapshot's xmax
 * on is visible to it) but ignores ids no transaction here has had yet: rows copied in with their
 * xid from another cluster (a logical dump and restore) are left to the full look.
 */
const changedSince = (column: string) =>
  `((${column} >= $2::xid8 AND ${column} < pg_snapshot_xmax(pg_current_snapshot())) OR ${column} = ANY ($3::xid8[]))`;

const INCREMENTAL_PROBE_SQL = probe(`
      SELECT p.provider, p.provider_event_id, p.provider_message_id, p.recipient, p.parked_at
        FROM parked_events p
       WHERE ${changedSince("p.park_xid")}
      UNION
      SELECT p.provider, p.provider_event_id, p.provider_message_id, p.recipient, p.parked_at
        FROM recipients r
        JOIN parked_events p ON p.provider = r.provider AND p.provider_message_id = r.provider_message_id
       WHERE ${changedSince("r.insert_xid")}`);

/** Of the transactions a probe saw in progress, those that have finished (or are too old to know). */
const FINISHED_SQL = `SELECT x::text AS xid FROM unnest($1::xid8[]) AS x WHERE pg_xact_status(x) IS DISTINCT FROM 'in progress'`;

const CLAIM_SQL = `
DELETE FROM parked_events p
 USING unnest($1::text[], $2::text[]) AS k(provider, event_id)
 WHERE p.provider = k.provider AND p.provider_event_id = k.event_id
RETURNING p.provider, p.provider_event_id, p.provider_message_id, p.recipient, p.type, p.status,
          (extract(epoch FROM p.occurred_at) * 1000)::bigint::text AS occurred_ms, p.error_code, p.error_message`;

/**
 * Per pool (one per worker process): what the probes have looked at. Every transaction id below
 * `xmax` whose rows no probe has looked at yet is in `pending` (it was in progress when the probe
 * ran); rows of transactions from `xmax` on are all unseen.
 */
interface RematchCursor {
  /** xmax of the last complete probe's snapshot; undefined until a full probe completed. */
  xmax: string | undefined;
  pending: ReadonlySet<string>;
  lastFullScanAt: number;
}

const cursors = new WeakMap<pg.Pool, RematchCursor>();

interface Candidate {
  provider: string;
  provider_event_id: string;
  provider_message_id: string;
  recipient: string;
}

/**
 * Applies parked events whose recipient has appeared since, through the same matching and the
 * same statement as {@link applyEvents}, and deletes them from `parked_events` in the same
 * transaction. Safe to run concurrently with itself and with `applyEvents` (same lock order:
 * recipients, parked, ledger, batches). Meant to be called by the worker every second or so.
 *
 * Its cost follows what changed, not how much is parked: the first call on a pool (and one every
 * `fullScanIntervalMs`) looks at every parked event; the others only at events parked, and
 * recipients inserted, by transactions no earlier call could see, that have finished since. Each
 * pool keeps its own cursor, so every worker sees everything (README.md, "Parking").
 */
export async function rematchParked(db: DbLike, options: RematchOptions = {}): Promise<RematchResult> {
  const limit = options.limit ?? 1000;
  const pool = poolOf(db);
  let cursor = cursors.get(pool);
  if (!cursor) cursors.set(pool, (cursor = { xmax: undefined, pending: new Set(), lastFullScanAt: 0 }));
  const full =
    options.fullScan === true ||
    cursor.xmax === undefined ||
    Date.now() - cursor.lastFullScanAt >= (options.fullScanIntervalMs ?? DEFAULT_PARKED_FULL_SCAN_INTERVAL_MS);
  const startedAt = Date.now();
  // Transactions that were in progress at the last probe and have finished by now: their rows are
  // looked at this time. Asked before the probe, so any that finish in between stay pending (and
  // are looked at next time); those still running are not looked up at all, so a long-running
  // transaction costs nothing per probe.
  let finished: string[] = [];
  if (!full && cursor.pending.size > 0) {
    const { rows } = await pool.query<{ xid: string }>(FINISHED_SQL, [[...cursor.pending]]);
    finished = rows.map((r) => r.xid);
  }
  // Unlocked probe first, so an idle worker does not open a transaction every second. Not a
  // prepared statement: each run is planned for its actual values, so the index ranges are used.
  const { rows } = await pool.query<Candidate & { xmax: string; xip: string[] }>(
    full ? FULL_PROBE_SQL : INCREMENTAL_PROBE_SQL,
    full ? [limit] : [limit, cursor.xmax, finished],
  );
  const { xmax, xip } = rows[0]!;
  const candidates = rows.filter((r) => r.provider !== null);
  const result = candidates.length === 0 ? { matched: 0, applied: 0, duplicates: 0, unchanged: 0 } : await claimAndApply(db, candidates);
  // Advance only once everything this probe could see was handled: a probe cut short by the
  // limit is repeated from the same cursor (what it handled is no longer parked).
  if (candidates.length < limit) {
    const pending = new Set(full ? [] : cursor.pending);
    for (const x of finished) pending.delete(x);
    for (const x of xip) pending.add(x);
    cursors.set(pool, { xmax, pending, lastFullScanAt: full ? startedAt : cursor.lastFullScanAt });
  }
  return result;
}

async function claimAndApply(db: DbLike, candidates: Candidate[]): Promise<RematchResult> {
  const result: RematchResult = { matched: 0, applied: 0, duplicates: 0, unchanged: 0 };
  return inTransaction(db, async (client) => {
    const recipients = await lockRecipients(
      client,
      candidates.map((c) => c.provider),
      candidates.map((c) => c.provider_message_id),
      candidates.map((c) => c.recipient),
    );
    // Only claim events whose recipient we now hold locked, by the same rule applyEvents uses.
    const claimable = candidates.filter((c) => recipients.match(c.provider, c.provider_message_id, c.recipient) !== undefined);
    if (claimable.length === 0) return result;
    const { rows } = await client.query<{
      provider: string;
      provider_event_id: string;
      provider_message_id: string;
      recipient: string;
      type: string;
      status: string;
      occurred_ms: string;
      error_code: string | null;
      error_message: string | null;
    }>(CLAIM_SQL, [claimable.map((c) => c.provider), claimable.map((c) => c.provider_event_id)]);
    result.matched = rows.length;
    const { applied, unchanged } = await applyMatched(client, {
      provider: rows.map((r) => r.provider),
      type: rows.map((r) => r.type),
      eventId: rows.map((r) => r.provider_event_id),
      recipientId: rows.map((r) => recipients.match(r.provider, r.provider_message_id, r.recipient) as string),
      status: rows.map((r) => r.status),
      occurredMs: rows.map((r) => Number(r.occurred_ms)),
      errorCode: rows.map((r) => r.error_code),
      errorMessage: rows.map((r) => r.error_message),
      address: rows.map((r) => r.recipient),
    });
    result.applied = applied;
    result.unchanged = unchanged;
    result.duplicates = rows.length - applied;
    return result;
  });
}

/** Number of events waiting in `parked_events` for their recipient. */
export async function countParked(db: DbLike): Promise<number> {
  const { rows } = await poolOf(db).query<{ n: number }>("SELECT count(*)::int AS n FROM parked_events");
  return rows[0]?.n ?? 0;
}

/**
 * Proposed default retention of parked events: 72 h. Longer than every provider's retry span
 * (Resend's, the longest of ours, is ~28 h) and than a sending side late by a weekend's day.
 */
export const DEFAULT_PARKED_RETENTION_MS = 72 * 60 * 60 * 1000;

/** Options of {@link expireParked}. */
export interface ExpireParkedOptions {
  /** Delete events parked before this instant, or more than this many milliseconds ago (default 72 h). */
  olderThan?: Date | number;
  /** Rows per DELETE statement, each its own short transaction (default 10,000). */
  chunkSize?: number;
}

/** What {@link expireParked} deleted. */
export interface ExpireParkedResult {
  deleted: number;
  /** The same count per provider (providers with none are absent). */
  byProvider: Record<string, number>;
}

// SKIP LOCKED: an event a re-match is claiming right now is its business, and expiry never waits
// on (or deadlocks with) a re-match or a park.
const EXPIRE_SQL = `
WITH doomed AS (
  SELECT provider, provider_event_id FROM parked_events
   WHERE parked_at < $1
   ORDER BY parked_at
   LIMIT $2
     FOR UPDATE SKIP LOCKED
),
deleted AS (
  DELETE FROM parked_events p USING doomed d
   WHERE p.provider = d.provider AND p.provider_event_id = d.provider_event_id
  RETURNING p.provider
)
SELECT provider, count(*)::int AS n FROM deleted GROUP BY provider`;

/**
 * The parked events' retention job: deletes events parked longer ago than the horizon (no
 * recipient ever matched them), in bounded chunks, each its own short transaction, and says how
 * many per provider so the caller can count and log them. Uses the index on `parked_at`.
 */
export async function expireParked(db: DbLike, options: ExpireParkedOptions = {}): Promise<ExpireParkedResult> {
  const olderThan = options.olderThan ?? DEFAULT_PARKED_RETENTION_MS;
  const cutoff = olderThan instanceof Date ? olderThan : new Date(Date.now() - olderThan);
  const chunkSize = options.chunkSize ?? 10_000;
  const pool = poolOf(db);
  const result: ExpireParkedResult = { deleted: 0, byProvider: {} };
  for (;;) {
    // Sequential on purpose: each chunk commits before the next one starts.
    const { rows } = await pool.query<{ provider: string; n: number }>(EXPIRE_SQL, [cutoff, chunkSize]);
    let chunk = 0;
    for (const { provider, n } of rows) {
      chunk += n;
      result.byProvider[provider] = (result.byProvider[provider] ?? 0) + n;
    }
    result.deleted += chunk;
    if (chunk < chunkSize) return result;
  }
}
