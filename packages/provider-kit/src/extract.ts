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
 * A part of a verified body that the plugin could not map (one item of a multi-event body).
 * Floodgate never drops what verified: the gateway keeps each part raw in the dead letters,
 * and `floodgate-dlq replay` later runs `body` through the then-current plugin. So `body` must
 * be something the same plugin's `extract` accepts on its own, with the same delivery id: for a
 * provider that POSTs a JSON array, the item wrapped in a one-item array.
 */
export interface UnmappedPart {
  reason: ExtractFailureReason;
  /** Why, for logs and the dead letter; no payload data. */
  detail: string;
  body: Uint8Array;
}

/**
 * A body understood. `id` is the delivery-level idempotency key (Telnyx `data.id`, Resend
 * `svix-id`); `events` may be empty when the delivery is acknowledged but carries nothing to
 * apply (an inbound message, a contact update).
 *
 * A body of many events (SendGrid POSTs up to thousands in one array) may map some and not
 * others: the mapped ones go in `events`, the rest in `unmapped`. The gateway answers 2xx only
 * once the events and every unmapped part are stored. A body that maps to nothing at all is an
 * {@link ExtractFailure} instead (the gateway keeps the whole body raw).
 */
export interface ExtractOk {
  ok: true;
  id: string;
  events: NormalizedEvent[];
  /** Verified parts that could not be mapped; absent (or empty) when everything mapped. */
  unmapped?: UnmappedPart[];
}

/** A body not understood. `detail` is for logs. */
export interface ExtractFailure {
  ok: false;
  reason: ExtractFailureReason;
  detail: string;
}

export type ExtractResult = ExtractOk | ExtractFailure;

/** A successful extraction; `unmapped` lists the parts of a multi-event body that could not be mapped. */
export function extracted(id: string, events: NormalizedEvent[], unmapped?: UnmappedPart[]): ExtractOk {
  return unmapped !== undefined && unmapped.length > 0 ? { ok: true, id, events, unmapped } : { ok: true, id, events };
}

/**
 * A part of a multi-event body that could not be mapped, with the failure the plugin found for
 * it and the bytes that reproduce it on their own (see {@link UnmappedPart}).
 *
 * @example unmappedPart(unsupportedEvent(`event ${item.event}`), utf8.encode(JSON.stringify([item])))
 */
export function unmappedPart(failure: ExtractFailure, body: Uint8Array): UnmappedPart {
  return { reason: failure.reason, detail: failure.detail, body };
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

const COMPACT_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/;

/**
 * Parses a carrier's compact UTC time, `YYMMDDhhmm` or `YYMMDDhhmmss` (Twilio `RawDlrDoneDate`,
 * Vonage `scts`; years 2000-2099), to epoch milliseconds, or `undefined` when it is not one.
 */
export function parseCompactUtcTime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = COMPACT_TIME.exec(value);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [2000 + Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

/** Unix seconds (an integer or a decimal fraction, as a number or a string) to epoch milliseconds, or `undefined`. */
export function parseUnixSeconds(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d{1,12}(\.\d{1,9})?$/.test(value) ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n >= 0 && n < 1e12 ? Math.round(n * 1000) : undefined;
}
