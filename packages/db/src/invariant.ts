import { inTransaction, poolOf, type DbLike } from "./db.js";

/** The batch counter columns, in table order. */
export const COUNTER_COLUMNS = [
  "queued_count",
  "sent_count",
  "delivered_count",
  "delayed_count",
  "failed_count",
  "bounced_count",
  "complained_count",
  "unsubscribed_count",
  "unknown_count",
  "total_count",
  "opened_count",
  "clicked_count",
] as const;

/** A batch counter that disagrees with its recipients. */
export interface InvariantViolation {
  batchId: string;
  column: (typeof COUNTER_COLUMNS)[number];
  /** What the batch row says. */
  actual: number;
  /** What counting its recipients gives. */
  expected: number;
}

/**
 * Every counter mismatch between `batches` and its recipients; `$1` is an optional text[] of batch
 * ids (NULL = all batches). An empty result means the invariant holds.
 */
export const CHECK_INVARIANT_SQL = `
WITH r AS (
  SELECT batch_id,
         count(*) FILTER (WHERE status = 'queued')::int AS queued_count,
         count(*) FILTER (WHERE status = 'sent')::int AS sent_count,
         count(*) FILTER (WHERE status = 'delivered')::int AS delivered_count,
         count(*) FILTER (WHERE status = 'delayed')::int AS delayed_count,
         count(*) FILTER (WHERE status = 'failed')::int AS failed_count,
         count(*) FILTER (WHERE status = 'bounced')::int AS bounced_count,
         count(*) FILTER (WHERE status = 'complained')::int AS complained_count,
         count(*) FILTER (WHERE status = 'unsubscribed')::int AS unsubscribed_count,
         count(*) FILTER (WHERE status = 'unknown')::int AS unknown_count,
         count(*)::int AS total_count,
         count(opened_at)::int AS opened_count,
         count(clicked_at)::int AS clicked_count
    FROM recipients
   WHERE $1::text[] IS NULL OR batch_id = ANY ($1::text[])
   GROUP BY batch_id
)
SELECT b.id AS "batchId", c.column_name AS "column", c.actual, c.expected
  FROM batches b
  LEFT JOIN r ON r.batch_id = b.id
 CROSS JOIN LATERAL (VALUES
      ('queued_count', b.queued_count, COALESCE(r.queued_count, 0)),
      ('sent_count', b.sent_count, COALESCE(r.sent_count, 0)),
      ('delivered_count', b.delivered_count, COALESCE(r.delivered_count, 0)),
      ('delayed_count', b.delayed_count, COALESCE(r.delayed_count, 0)),
      ('failed_count', b.failed_count, COALESCE(r.failed_count, 0)),
      ('bounced_count', b.bounced_count, COALESCE(r.bounced_count, 0)),
      ('complained_count', b.complained_count, COALESCE(r.complained_count, 0)),
      ('unsubscribed_count', b.unsubscribed_count, COALESCE(r.unsubscribed_count, 0)),
      ('unknown_count', b.unknown_count, COALESCE(r.unknown_count, 0)),
      ('total_count', b.total_count, COALESCE(r.total_count, 0)),
      ('opened_count', b.opened_count, COALESCE(r.opened_count, 0)),
      ('clicked_count', b.clicked_count, COALESCE(r.clicked_count, 0))
  ) AS c(column_name, actual, expected)
 WHERE ($1::text[] IS NULL OR b.id = ANY ($1::text[]))
   AND c.actual <> c.expected
 ORDER BY b.id, c.column_name`;

/**
 * Recomputes batch counters from the recipients (`$1`: optional text[] of batch ids, NULL = all).
 * Run it inside a transaction that holds `LOCK TABLE recipients IN SHARE MODE`, as
 * {@link recountBatches} does, or writers racing it could leave a counter off.
 */
export const RECOUNT_SQL = `
UPDATE batches b SET
  (queued_count, sent_count, delivered_count, delayed_count, failed_count, bounced_count, complained_count, unsubscribed_count, unknown_count, total_count, opened_count, clicked_count) = (
    SELECT
           count(*) FILTER (WHERE r.status = 'queued')::int,
           count(*) FILTER (WHERE r.status = 'sent')::int,
           count(*) FILTER (WHERE r.status = 'delivered')::int,
           count(*) FILTER (WHERE r.status = 'delayed')::int,
           count(*) FILTER (WHERE r.status = 'failed')::int,
           count(*) FILTER (WHERE r.status = 'bounced')::int,
           count(*) FILTER (WHERE r.status = 'complained')::int,
           count(*) FILTER (WHERE r.status = 'unsubscribed')::int,
           count(*) FILTER (WHERE r.status = 'unknown')::int,
           count(*)::int,
           count(r.opened_at)::int,
           count(r.clicked_at)::int
      FROM recipients r
     WHERE r.batch_id = b.id
  ),
  updated_at = now()
 WHERE $1::text[] IS NULL OR b.id = ANY ($1::text[])`;

/**
 * Checks the counter invariant with SQL: for every batch (or the given ones) and every status, the
 * counter equals the number of its recipients in that status; `total_count`, `opened_count` and
 * `clicked_count` likewise. Returns the mismatches, empty when all is well.
 */
export async function checkInvariant(db: DbLike, batchIds?: readonly string[]): Promise<InvariantViolation[]> {
  const { rows } = await poolOf(db).query<InvariantViolation>(CHECK_INVARIANT_SQL, [batchIds ?? null]);
  return rows;
}

/**
 * Repairs batch counters by counting recipients (all batches, or the given ones), briefly blocking
 * writers to `recipients`. Returns the number of batches rewritten. The triggers keep counters
 * exact; this is for damage done by hand (e.g. someone updating `batches` directly).
 */
export async function recountBatches(db: DbLike, batchIds?: readonly string[]): Promise<number> {
  return inTransaction(db, async (client) => {
    await client.query("LOCK TABLE recipients IN SHARE MODE");
    const { rowCount } = await client.query(RECOUNT_SQL, [batchIds ?? null]);
    return rowCount ?? 0;
  });
}
