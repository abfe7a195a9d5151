import type { NormalizedEvent } from "@floodgate/provider-kit";
import { isDeliveryStatus } from "@floodgate/provider-kit";
import type pg from "pg";
import { inTransaction, statement, type DbLike } from "./db.js";

/** What {@link applyEvents} did with a batch; `applied + duplicates + parked + invalid` = events given. */
export interface ApplyResult {
  /** Events applied now (recorded in the ledger in this transaction). */
  applied: number;
  /** Events already applied (ledger), already parked, or repeated within the batch. */
  duplicates: number;
  /** Events parked because no recipient row matches them yet (no row for the message id, or a group send with no row for their address). */
  parked: number;
  /** Of `applied`, events whose recipient row did not change at all (older news than it holds). */
  unchanged: number;
  /** Events skipped as malformed (unknown status, empty ids, non-finite occurredAt); never retried. */
  invalid: number;
  /** The same four outcomes per provider and event type (for metrics); they add up to the totals. */
  byType: TypeOutcome[];
}

/** Outcomes of one provider's event type within a batch. */
export interface TypeOutcome {
  provider: string;
  type: string;
  applied: number;
  duplicates: number;
  parked: number;
  invalid: number;
}

/**
 * Events matched to a locked recipient, as column arrays for `unnest` (one allocation per column,
 * not per event).
 */
interface MatchedColumns {
  provider: string[];
  type: string[];
  eventId: string[];
  recipientId: string[];
  status: string[];
  occurredMs: number[];
  errorCode: (string | null)[];
  errorMessage: (string | null)[];
  address: string[];
}

function emptyColumns(): MatchedColumns {
  return { provider: [], type: [], eventId: [], recipientId: [], status: [], occurredMs: [], errorCode: [], errorMessage: [], address: [] };
}

const KEY_SEPARATOR = "\u0000";

/**
 * @internal Which locked recipient row an event belongs to (README.md, "How events find their
 * recipient"): the message's only row whatever the address, else the row whose
 * `floodgate_address_key(address)` equals the event's; `undefined` when there is none (park it).
 */
export interface RecipientMatcher {
  match(provider: string, messageId: string, address: string): string | undefined;
}

/** One message's locked rows: its only row, or its rows by address key. */
interface LockedMessage {
  only: string | undefined;
  byKey: Map<string, string> | undefined;
}

/**
 * Locks every row of these messages and reads the address keys the matching needs, in one
 * statement. Keys are computed by floodgate_address_key() in SQL, for rows and events alike, and
 * only for messages with several rows (a single row takes every event, so its key is not needed).
 */
const LOCK_RECIPIENTS_SQL = `
WITH locked AS (
  SELECT r.id, r.provider, r.provider_message_id, r.address
    FROM recipients r
    JOIN (SELECT DISTINCT provider, message_id FROM unnest($1::text[], $2::text[]) AS k(provider, message_id)) k
      ON r.provider = k.provider AND r.provider_message_id = k.message_id
   ORDER BY r.id
     FOR UPDATE OF r
),
counted AS (
  SELECT id, provider, provider_message_id, address,
         count(*) OVER (PARTITION BY provider, provider_message_id) AS n
    FROM locked
)
SELECT id, provider, provider_message_id, CASE WHEN n > 1 THEN floodgate_address_key(address) END AS akey, NULL::text AS address
  FROM counted
UNION ALL
SELECT NULL, e.provider, e.message_id, floodgate_address_key(e.address), e.address
  FROM unnest($1::text[], $2::text[], $3::text[]) AS e(provider, message_id, address)
 WHERE (e.provider, e.message_id) IN (SELECT provider, provider_message_id FROM counted WHERE n > 1)`;

/**
 * @internal Locks the recipient rows of these events' messages in id order (every transaction
 * takes recipient row locks in one global order) and returns the matcher for them. The three
 * arrays are aligned: one entry per distinct (provider, message id, address).
 */
export async function lockRecipients(
  client: pg.PoolClient,
  providers: string[],
  messageIds: string[],
  addresses: string[],
): Promise<RecipientMatcher> {
  const { rows } = await client.query<{ id: string | null; provider: string; provider_message_id: string; akey: string | null; address: string | null }>(
    statement(client, "floodgate_lock_recipients", LOCK_RECIPIENTS_SQL, [providers, messageIds, addresses]),
  );
  const messages = new Map<string, LockedMessage>();
  const eventKeys = new Map<string, string>();
  for (const row of rows) {
    const message = row.provider + KEY_SEPARATOR + row.provider_message_id;
    if (row.id === null) {
      eventKeys.set(message + KEY_SEPARATOR + (row.address ?? ""), row.akey ?? "");
      continue;
    }
    let m = messages.get(message);
    if (!m) messages.set(message, (m = { only: undefined, byKey: undefined }));
    if (row.akey === null) m.only = row.id;
    else (m.byKey ??= new Map()).set(row.akey, row.id);
  }
  return {
    match(provider, messageId, address) {
      const message = provider + KEY_SEPARATOR + messageId;
      const m = messages.get(message);
      if (!m) return undefined;
      if (m.only !== undefined) return m.only;
      const key = eventKeys.get(message + KEY_SEPARATOR + address);
      return key === undefined ? undefined : m.byKey?.get(key);
    },
  };
}

/**
 * The one statement that applies matched events: records them in the ledger (sorted keys, so
 * concurrent inserts of the same keys queue instead of deadlocking), keeps only the ones that were
 * new, folds them per recipient and updates each recipient at most once. Every column it writes is a
 * join over the events seen (max by precedence, min by time), so the result does not depend on the
 * order or the grouping in which events arrive. Batch counters follow via the statement triggers.
 */
const APPLY_MATCHED_SQL = `
WITH ev AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[])
    AS e(provider, event_id, recipient_id, status, occurred_ms, error_code, error_message, address, type)
),
ins AS (
  INSERT INTO applied_events (provider, provider_event_id)
  SELECT provider, event_id FROM ev ORDER BY provider COLLATE "C", event_id COLLATE "C"
  ON CONFLICT DO NOTHING
  RETURNING provider, provider_event_id
),
fresh AS (
  SELECT ev.recipient_id, ev.provider, ev.type,
         ev.event_id COLLATE "C" AS event_id,
         ev.status,
         CASE WHEN ev.status IN ('opened', 'clicked') THEN 'delivered' ELSE ev.status END AS rstatus,
         status_rank(ev.status) AS rank,
         (timestamptz 'epoch' + ev.occurred_ms * interval '1 millisecond') AS at,
         ev.error_code, ev.error_message,
         NULLIF(ev.address, '') AS address
    FROM ev JOIN ins ON ins.provider = ev.provider AND ins.provider_event_id = ev.event_id
),
-- One sort, one pass: window aggregates over each recipient's events ride along on its winning row
-- (joining two per-recipient CTEs instead makes the planner, blind to CTE sizes, loop quadratically).
win AS (
  SELECT DISTINCT ON (recipient_id) recipient_id, rstatus, rank, at, event_id, error_code, error_message,
         min(at) FILTER (WHERE status = 'queued') OVER p AS queued_at,
         min(at) FILTER (WHERE status = 'sent') OVER p AS sent_at,
         min(at) FILTER (WHERE status IN ('delivered', 'opened', 'clicked')) OVER p AS delivered_at,
         min(at) FILTER (WHERE status = 'delayed') OVER p AS delayed_at,
         min(at) FILTER (WHERE status = 'failed') OVER p AS failed_at,
         min(at) FILTER (WHERE status = 'bounced') OVER p AS bounced_at,
         min(at) FILTER (WHERE status = 'complained') OVER p AS complained_at,
         min(at) FILTER (WHERE status = 'unsubscribed') OVER p AS unsubscribed_at,
         min(at) FILTER (WHERE status = 'unknown') OVER p AS unknown_at,
         min(at) FILTER (WHERE status = 'opened') OVER p AS opened_at,
         min(at) FILTER (WHERE status = 'clicked') OVER p AS clicked_at,
         min(address) OVER p AS address,
         count(*) OVER p AS n
    FROM fresh
  WINDOW p AS (PARTITION BY recipient_id)
   ORDER BY recipient_id, rank DESC, at, event_id
),
calc AS (
  SELECT r.id, w.n,
         CASE WHEN x.wins THEN w.rstatus ELSE r.status END AS status,
         CASE WHEN x.wins THEN w.at ELSE r.status_event_at END AS status_event_at,
         CASE WHEN x.wins THEN w.event_id ELSE r.status_event_id END AS status_event_id,
         CASE WHEN x.wins THEN w.error_code ELSE r.error_code END AS error_code,
         CASE WHEN x.wins THEN w.error_message ELSE r.error_message END AS error_message,
         LEAST(r.queued_at, w.queued_at) AS queued_at,
         LEAST(r.sent_at, w.sent_at) AS sent_at,
         LEAST(r.delivered_at, w.delivered_at) AS delivered_at,
         LEAST(r.delayed_at, w.delayed_at) AS delayed_at,
         LEAST(r.failed_at, w.failed_at) AS failed_at,
         LEAST(r.bounced_at, w.bounced_at) AS bounced_at,
         LEAST(r.complained_at, w.complained_at) AS complained_at,
         LEAST(r.unsubscribed_at, w.unsubscribed_at) AS unsubscribed_at,
         LEAST(r.unknown_at, w.unknown_at) AS unknown_at,
         LEAST(r.opened_at, w.opened_at) AS opened_at,
         LEAST(r.clicked_at, w.clicked_at) AS clicked_at,
         COALESCE(r.address, w.address) AS address
    FROM win w
    JOIN recipients r ON r.id = w.recipient_id
   CROSS JOIN LATERAL (
     SELECT w.rank > status_rank(r.status)
         OR (w.rank = status_rank(r.status)
             AND (r.status_event_at IS NULL
                  OR w.at < r.status_event_at
                  OR (w.at = r.status_event_at AND w.event_id < (r.status_event_id COLLATE "C")))) AS wins
   ) x
),
upd AS (
  UPDATE recipients r SET
         status = c.status, status_event_at = c.status_event_at, status_event_id = c.status_event_id,
         error_code = c.error_code, error_message = c.error_message,
         queued_at = c.queued_at, sent_at = c.sent_at, delivered_at = c.delivered_at, delayed_at = c.delayed_at,
         failed_at = c.failed_at, bounced_at = c.bounced_at, complained_at = c.complained_at,
         unsubscribed_at = c.unsubscribed_at, unknown_at = c.unknown_at,
         opened_at = c.opened_at, clicked_at = c.clicked_at, address = c.address,
         updated_at = now()
    FROM calc c
   WHERE r.id = c.id
     AND (r.status, r.status_event_at, r.status_event_id, r.error_code, r.error_message,
          r.queued_at, r.sent_at, r.delivered_at, r.delayed_at, r.failed_at, r.bounced_at, r.complained_at,
          r.unsubscribed_at, r.unknown_at, r.opened_at, r.clicked_at, r.address)
         IS DISTINCT FROM
         (c.status, c.status_event_at, c.status_event_id, c.error_code, c.error_message,
          c.queued_at, c.sent_at, c.delivered_at, c.delayed_at, c.failed_at, c.bounced_at, c.complained_at,
          c.unsubscribed_at, c.unknown_at, c.opened_at, c.clicked_at, c.address)
  RETURNING c.n
)
SELECT (SELECT count(*) FROM fresh)::int AS applied,
       ((SELECT count(*) FROM fresh) - (SELECT coalesce(sum(n), 0) FROM upd))::int AS unchanged,
       (SELECT coalesce(json_agg(json_build_array(provider, type, n)), '[]'::json)
          FROM (SELECT provider, type, count(*)::int AS n FROM fresh GROUP BY provider, type) g) AS by_type`;

/** @internal Applies events already matched to recipients locked by this transaction. */
export async function applyMatched(
  client: pg.PoolClient,
  cols: MatchedColumns,
): Promise<{ applied: number; unchanged: number; byType: [string, string, number][] }> {
  if (cols.eventId.length === 0) return { applied: 0, unchanged: 0, byType: [] };
  const { rows } = await client.query<{ applied: number; unchanged: number; by_type: [string, string, number][] }>(
    statement(client, "floodgate_apply_matched", APPLY_MATCHED_SQL, [
      cols.provider,
      cols.eventId,
      cols.recipientId,
      cols.status,
      cols.occurredMs,
      cols.errorCode,
      cols.errorMessage,
      cols.address,
      cols.type,
    ]),
  );
  const row = rows[0];
  return { applied: row?.applied ?? 0, unchanged: row?.unchanged ?? 0, byType: row?.by_type ?? [] };
}

const PARK_SQL = `
INSERT INTO parked_events
       (provider, provider_event_id, provider_message_id, recipient, type, status, raw_status,
        occurred_at, error_code, error_message)
SELECT e.provider, e.event_id, e.message_id, e.recipient, e.type, e.status, e.raw_status,
       timestamptz 'epoch' + e.occurred_ms * interval '1 millisecond', e.error_code, e.error_message
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::bigint[], $9::text[], $10::text[])
       AS e(provider, event_id, message_id, recipient, type, status, raw_status, occurred_ms, error_code, error_message)
 WHERE NOT EXISTS (SELECT 1 FROM applied_events a WHERE a.provider = e.provider AND a.provider_event_id = e.event_id)
 ORDER BY e.provider COLLATE "C", e.event_id COLLATE "C"
    ON CONFLICT DO NOTHING
RETURNING provider, type`;

function isValid(e: NormalizedEvent): boolean {
  return (
    typeof e.provider === "string" &&
    e.provider !== "" &&
    typeof e.providerEventId === "string" &&
    e.providerEventId !== "" &&
    typeof e.providerMessageId === "string" &&
    e.providerMessageId !== "" &&
    typeof e.status === "string" &&
    isDeliveryStatus(e.status) &&
    Number.isFinite(e.occurredAt)
  );
}

/**
 * Applies a batch of normalized events in one transaction with a fixed number of set-based
 * statements (lock the messages' recipients, park the unmatched, ledger + fold + update), whatever
 * the batch size.
 *
 * - Idempotent: an event whose (provider, providerEventId) is in the ledger changes nothing.
 * - Convergent: the resulting rows do not depend on the order or grouping of events.
 * - Deadlock-free among concurrent callers: recipient rows, ledger keys and batch rows are each
 *   locked in one global order, and always in that sequence.
 * - Each event goes to the row of its (provider, providerMessageId): the only one whatever the
 *   address, or among several (a group send) the one whose normalized address is the event's.
 *   Events no row matches yet are parked (see {@link rematchParked}).
 *
 * Throws only on database faults (retry the whole batch); malformed events are counted as `invalid`.
 */
export async function applyEvents(db: DbLike, events: readonly NormalizedEvent[]): Promise<ApplyResult> {
  const result: ApplyResult = { applied: 0, duplicates: 0, parked: 0, unchanged: 0, invalid: 0, byType: [] };
  // Per (provider, type): every event lands in exactly one outcome; duplicates are what is left.
  const byType = new Map<string, TypeOutcome>();
  const outcomeOf = (provider: string, type: string): TypeOutcome => {
    const key = provider + KEY_SEPARATOR + type;
    let o = byType.get(key);
    if (!o) byType.set(key, (o = { provider, type, applied: 0, duplicates: 0, parked: 0, invalid: 0 }));
    return o;
  };
  const totals = new Map<TypeOutcome, number>();
  for (const e of events) {
    const o = outcomeOf(String(e.provider ?? ""), String(e.type ?? ""));
    totals.set(o, (totals.get(o) ?? 0) + 1);
  }
  const finish = (r: ApplyResult): ApplyResult => {
    for (const [o, total] of totals) o.duplicates = total - o.applied - o.parked - o.invalid;
    r.byType = [...byType.values()];
    return r;
  };
  const unique = new Map<string, NormalizedEvent>();
  for (const e of events) {
    if (!isValid(e)) {
      result.invalid++;
      outcomeOf(String(e.provider ?? ""), String(e.type ?? "")).invalid++;
      continue;
    }
    const key = e.provider + KEY_SEPARATOR + e.providerEventId;
    if (unique.has(key)) result.duplicates++;
    else unique.set(key, e);
  }
  if (unique.size === 0) return finish(result);

  const keyProviders: string[] = [];
  const keyMessageIds: string[] = [];
  const keyAddresses: string[] = [];
  const seenKeys = new Set<string>();
  for (const e of unique.values()) {
    const address = e.recipient ?? "";
    const key = e.provider + KEY_SEPARATOR + e.providerMessageId + KEY_SEPARATOR + address;
    if (seenKeys.has(key)) continue;
    seenKeys.add(key);
    keyProviders.push(e.provider);
    keyMessageIds.push(e.providerMessageId);
    keyAddresses.push(address);
  }

  return inTransaction(db, async (client) => {
    const recipients = await lockRecipients(client, keyProviders, keyMessageIds, keyAddresses);
    const matched = emptyColumns();
    const unmatched: NormalizedEvent[] = [];
    for (const e of unique.values()) {
      const recipientId = recipients.match(e.provider, e.providerMessageId, e.recipient ?? "");
      if (recipientId === undefined) {
        unmatched.push(e);
        continue;
      }
      matched.provider.push(e.provider);
      matched.type.push(e.type ?? "");
      matched.eventId.push(e.providerEventId);
      matched.recipientId.push(recipientId);
      matched.status.push(e.status);
      matched.occurredMs.push(Math.floor(e.occurredAt));
      matched.errorCode.push(e.errorCode ?? null);
      matched.errorMessage.push(e.errorMessage ?? null);
      matched.address.push(e.recipient ?? "");
    }
    if (unmatched.length > 0) {
      const parked = await client.query(
        statement(client, "floodgate_park_events", PARK_SQL, [
          unmatched.map((e) => e.provider),
          unmatched.map((e) => e.providerEventId),
          unmatched.map((e) => e.providerMessageId),
          unmatched.map((e) => e.recipient ?? ""),
          unmatched.map((e) => e.type ?? ""),
          unmatched.map((e) => e.status),
          unmatched.map((e) => e.rawStatus ?? ""),
          unmatched.map((e) => Math.floor(e.occurredAt)),
          unmatched.map((e) => e.errorCode ?? null),
          unmatched.map((e) => e.errorMessage ?? null),
        ]),
      );
      result.parked = parked.rowCount ?? 0;
      for (const row of parked.rows as { provider: string; type: string }[]) outcomeOf(row.provider, row.type).parked++;
      result.duplicates += unmatched.length - result.parked;
    }
    const { applied, unchanged, byType: appliedByType } = await applyMatched(client, matched);
    result.applied = applied;
    result.unchanged = unchanged;
    result.duplicates += matched.eventId.length - applied;
    for (const [provider, type, n] of appliedByType) outcomeOf(provider, type).applied += n;
    return finish(result);
  });
}
