import { applyMatched, lockRecipients } from "./apply-events.js";
import { inTransaction, poolOf, type DbLike } from "./db.js";

/** Options of {@link rematchParked}. */
export interface RematchOptions {
  /** At most this many parked events per call (default 1000). */
  limit?: number;
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

const CANDIDATES_SQL = `
SELECT p.provider, p.provider_event_id, p.provider_message_id
  FROM parked_events p
 WHERE EXISTS (SELECT 1 FROM recipients r WHERE r.provider = p.provider AND r.provider_message_id = p.provider_message_id)
 ORDER BY p.parked_at, p.provider, p.provider_event_id
 LIMIT $1`;

const CLAIM_SQL = `
DELETE FROM parked_events p
 USING unnest($1::text[], $2::text[]) AS k(provider, event_id)
 WHERE p.provider = k.provider AND p.provider_event_id = k.event_id
RETURNING p.provider, p.provider_event_id, p.provider_message_id, p.recipient, p.type, p.status,
          (extract(epoch FROM p.occurred_at) * 1000)::bigint::text AS occurred_ms, p.error_code, p.error_message`;

/**
 * Applies parked events whose recipient has appeared since, through the same statement as
 * {@link applyEvents}, and deletes them from `parked_events` in the same transaction. Safe to run
 * concurrently with itself and with `applyEvents` (same lock order: recipients, parked, ledger,
 * batches). Meant to be called by the worker every second or so.
 */
export async function rematchParked(db: DbLike, options: RematchOptions = {}): Promise<RematchResult> {
  const limit = options.limit ?? 1000;
  const result: RematchResult = { matched: 0, applied: 0, duplicates: 0, unchanged: 0 };
  // Cheap unlocked probe first, so an idle worker does not open a transaction every second.
  const { rows: candidates } = await poolOf(db).query<{ provider: string; provider_event_id: string; provider_message_id: string }>(
    CANDIDATES_SQL,
    [limit],
  );
  if (candidates.length === 0) return result;

  return inTransaction(db, async (client) => {
    const recipientIds = await lockRecipients(
      client,
      candidates.map((c) => c.provider),
      candidates.map((c) => c.provider_message_id),
    );
    // Only claim events whose recipient we now hold locked (it could have been deleted meanwhile).
    const claimable = candidates.filter((c) => recipientIds.has(c.provider + "\u0000" + c.provider_message_id));
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
      recipientId: rows.map((r) => recipientIds.get(r.provider + "\u0000" + r.provider_message_id) as string),
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
