import { poolOf, type DbLike } from "./db.js";

/**
 * How long applied event ids are remembered by default: 48 h, beyond every provider's retry span
 * (Resend, the longest of ours, retries for about 28 h).
 */
export const DEFAULT_LEDGER_RETENTION_MS = 48 * 60 * 60 * 1000;

/** Options of {@link pruneLedger}. */
export interface PruneLedgerOptions {
  /** Delete rows applied before this instant, or more than this many milliseconds ago (default 48 h). */
  olderThan?: Date | number;
  /** Rows per DELETE statement, each its own short transaction (default 10,000). */
  chunkSize?: number;
}

const PRUNE_SQL = `
DELETE FROM applied_events
 WHERE ctid = ANY (ARRAY(SELECT ctid FROM applied_events WHERE applied_at < $1 LIMIT $2))`;

/**
 * The ledger's retention job: deletes ledger rows older than the horizon in bounded chunks, so it
 * never holds many locks or one long transaction. Returns the number of rows deleted.
 */
export async function pruneLedger(db: DbLike, options: PruneLedgerOptions = {}): Promise<number> {
  const olderThan = options.olderThan ?? DEFAULT_LEDGER_RETENTION_MS;
  const cutoff = olderThan instanceof Date ? olderThan : new Date(Date.now() - olderThan);
  const chunkSize = options.chunkSize ?? 10_000;
  const pool = poolOf(db);
  let total = 0;
  for (;;) {
    // Sequential on purpose: each chunk commits before the next one starts.
    const { rowCount } = await pool.query(PRUNE_SQL, [cutoff, chunkSize]);
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < chunkSize) return total;
  }
}
