import type { DeliveryStatus } from "@floodgate/provider-kit";

/**
 * The statuses a recipient row can hold, lowest precedence first. A recipient only ever moves to a
 * strictly higher rank; see README.md for why this order. Mirrors `status_rank()` in the migration.
 */
export const STATUS_PRECEDENCE = [
  "queued",
  "sent",
  "delayed",
  "unknown",
  "delivered",
  "failed",
  "bounced",
  "unsubscribed",
  "complained",
] as const satisfies readonly DeliveryStatus[];

/** A status a recipient row can hold (every status except the engagement events). */
export type RecipientStatus = (typeof STATUS_PRECEDENCE)[number];

/** Engagement events: they set `opened_at`/`clicked_at` and imply delivery, never lower a status. */
export const ENGAGEMENT_STATUSES = ["opened", "clicked"] as const satisfies readonly DeliveryStatus[];

const RANK: ReadonlyMap<string, number> = new Map<string, number>([
  ...STATUS_PRECEDENCE.map((s, i) => [s, i] as [string, number]),
  ["opened", STATUS_PRECEDENCE.indexOf("delivered")],
  ["clicked", STATUS_PRECEDENCE.indexOf("delivered")],
]);

/** The recipient status an event of this status moves towards (`opened`/`clicked` → `delivered`). */
export function recipientStatusOf(status: DeliveryStatus): RecipientStatus {
  return status === "opened" || status === "clicked" ? "delivered" : status;
}

/** Precedence rank of a status (engagement events rank as `delivered`); -1 when unknown. */
export function statusRank(status: string): number {
  return RANK.get(status) ?? -1;
}
