import type { NormalizedEvent } from "./event.js";

/** What a provider's `extract` learns besides the parsed body. */
export interface ExtractContext {
  /** The provider id, for `NormalizedEvent.provider`. */
  readonly provider: string;
  /** The delivery id the signature covered (`svix-id`), when the scheme has one. */
  readonly deliveryId: string | undefined;
  /** The raw body, for providers whose payload is not JSON. */
  readonly body: Uint8Array;
  /**
   * When the request arrived, epoch ms: the event time of providers whose payload has none
   * (Twilio, Plivo). Precedence still converges: a recipient's status moves by rank, never by
   * time, and a retry keeps its first arrival through the ledger's dedup on the event id.
   */
  readonly receivedAt: number;
}

/** Why a verified body yields no events. */
export type ExtractFailureReason = "malformed" | "unsupported_event";

/**
 * A body understood. `id` is the delivery-level idempotency key (Telnyx `data.id`, Resend
 * `svix-id`); `events` may be empty when the delivery is acknowledged but carries nothing to
 * apply (an inbound message, a contact update).
 */
export interface ExtractOk {
  ok: true;
  id: string;
  events: NormalizedEvent[];
}

/** A body not understood. `detail` is for logs. */
export interface ExtractFailure {
  ok: false;
  reason: ExtractFailureReason;
  detail: string;
}

export type ExtractResult = ExtractOk | ExtractFailure;

/** A successful extraction. */
export function extracted(id: string, events: NormalizedEvent[]): ExtractOk {
  return { ok: true, id, events };
}

/** A delivery acknowledged with nothing to apply. */
export function acknowledged(id: string): ExtractOk {
  return { ok: true, id, events: [] };
}

/** The body does not have the shape the provider documents. */
export function malformed(detail: string): ExtractFailure {
  return { ok: false, reason: "malformed", detail };
}

/** A well-formed body of an event type this plugin does not know. */
export function unsupportedEvent(detail: string): ExtractFailure {
  return { ok: false, reason: "unsupported_event", detail };
}

/** Narrows a parsed JSON value to a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Narrows to a non-empty string. */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

// An explicit offset or Z is required: without one Date.parse would use the host's time zone.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Parses an ISO-8601 date-time with a time zone to epoch milliseconds, or `undefined` when the
 * value is not one (including zone-less times, which would depend on the host's time zone).
 */
export function parseIsoTimestamp(value: unknown): number | undefined {
  if (typeof value !== "string" || !ISO_8601.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
