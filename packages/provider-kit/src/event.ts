/**
 * The normalized delivery event every provider plugin produces and the rest of Floodgate
 * consumes. One provider webhook may carry several of them (one per recipient, or a batch).
 */

/** Every status a delivery event can report, in no particular order (see the db package for precedence). */
export const STATUSES = [
  "queued",
  "sent",
  "delivered",
  "delayed",
  "failed",
  "bounced",
  "complained",
  "opened",
  "clicked",
  "unsubscribed",
  "unknown",
] as const;

export type DeliveryStatus = (typeof STATUSES)[number];

const STATUS_SET: ReadonlySet<string> = new Set(STATUSES);

/** Narrows an arbitrary string to a {@link DeliveryStatus}. */
export function isDeliveryStatus(value: string): value is DeliveryStatus {
  return STATUS_SET.has(value);
}

export interface NormalizedEvent {
  /** Provider id, e.g. `telnyx`. */
  provider: string;
  /** Idempotency key of this event, stable across the provider's retries. */
  providerEventId: string;
  /** The id the provider gave the message when it was sent; joins to `recipients.provider_message_id`. */
  providerMessageId: string;
  /** Phone number or e-mail address; empty string when the payload has none. */
  recipient: string;
  /** The provider's own event type, e.g. `message.finalized` or `email.bounced`. */
  type: string;
  status: DeliveryStatus;
  /** The provider's status string before normalization. */
  rawStatus: string;
  /** When the provider says the event happened, epoch milliseconds (UTC). */
  occurredAt: number;
  errorCode: string | null;
  errorMessage: string | null;
}
