import type { NormalizedEvent } from "./event.js";
import type { ExtractOk } from "./extract.js";

/** U+FFFD REPLACEMENT CHARACTER: what NUL and lone surrogates become. */
export const REPLACEMENT_CHARACTER = "\uFFFD";

// ES2024 (Node >= 20); the shared tsconfig's lib is ES2023.
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * A provider string made safe to store: every NUL (U+0000, which PostgreSQL text cannot hold)
 * and every lone UTF-16 surrogate (which has no UTF-8 encoding: a JSON `\ud800` escape, or text
 * decoded from invalid bytes by a non-UTF-8 decoder) becomes U+FFFD, one code unit for one, so
 * the length and the other characters are kept. Returns `value` itself, without allocating, when
 * there is nothing to replace: two native scans on the hot path.
 */
export function sanitizeString(value: string): string {
  const s = value as unknown as WellFormedString & string;
  if (s.isWellFormed() && !value.includes("\0")) return value;
  return s.toWellFormed().replaceAll("\0", REPLACEMENT_CHARACTER);
}

function clean(value: string | null): string | null {
  return value === null ? null : sanitizeString(value);
}

/**
 * {@link sanitizeString} over every string field of an event. Returns `event` itself when no
 * field changes, a copy otherwise (plugins may hand out frozen or shared objects).
 */
export function sanitizeEvent(event: NormalizedEvent): NormalizedEvent {
  const provider = sanitizeString(event.provider);
  const providerEventId = sanitizeString(event.providerEventId);
  const providerMessageId = sanitizeString(event.providerMessageId);
  const recipient = sanitizeString(event.recipient);
  const type = sanitizeString(event.type);
  const rawStatus = sanitizeString(event.rawStatus);
  const errorCode = clean(event.errorCode);
  const errorMessage = clean(event.errorMessage);
  if (
    provider === event.provider &&
    providerEventId === event.providerEventId &&
    providerMessageId === event.providerMessageId &&
    recipient === event.recipient &&
    type === event.type &&
    rawStatus === event.rawStatus &&
    errorCode === event.errorCode &&
    errorMessage === event.errorMessage
  ) {
    return event;
  }
  return { ...event, provider, providerEventId, providerMessageId, recipient, type, rawStatus, errorCode, errorMessage };
}

/**
 * The runtime's normalization step after a plugin's `extract`: sanitizes the delivery id and
 * every event, so no provider string can make a batch unstorable. Returns `result` itself when
 * nothing changes.
 */
export function sanitizeExtracted(result: ExtractOk): ExtractOk {
  let events: NormalizedEvent[] | undefined;
  for (let i = 0; i < result.events.length; i++) {
    const event = result.events[i]!;
    const safe = sanitizeEvent(event);
    if (safe !== event) (events ??= result.events.slice())[i] = safe;
  }
  const id = sanitizeString(result.id);
  return events === undefined && id === result.id ? result : { ...result, id, events: events ?? result.events };
}
