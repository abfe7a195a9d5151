import {
  acknowledged,
  extracted,
  isNonEmptyString,
  isRecord,
  malformed,
  parseIsoTimestamp,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
  type NormalizedEvent,
} from "@floodgate/provider-kit";

/** Telnyx recipient status → normalized status (providers.md §1). */
export const TELNYX_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["queued", "queued"],
  ["sending", "queued"],
  ["sent", "sent"],
  ["delivered", "delivered"],
  // Finalized without a carrier receipt: terminal, but we cannot claim delivery.
  ["delivery_unconfirmed", "unknown"],
  ["sending_failed", "failed"],
  ["delivery_failed", "failed"],
  ["expired", "failed"],
]);

/** Event types that carry outbound delivery status. */
const STATUS_EVENT_TYPES: ReadonlySet<string> = new Set(["message.sent", "message.finalized"]);
/** Event types acknowledged without events (inbound messages are not delivery status). */
const IGNORED_EVENT_TYPES: ReadonlySet<string> = new Set(["message.received"]);

/**
 * Maps a Telnyx messaging webhook to one event per `payload.to[]` entry, then per `cc[]` entry
 * (MMS groups). The delivery id is `data.id`; each event's id is `<data.id>:<phone_number>`.
 * `errors[0]` (`code`, then `title` or `detail`) is attached to recipients whose status is
 * `failed` or `unknown` only, so a delivered co-recipient never shows a stale error. A number
 * listed twice yields one event. An unknown recipient status is `unsupported_event`.
 */
export function extractTelnyx(body: unknown, context: ExtractContext): ExtractResult {
  if (!isRecord(body) || !isRecord(body.data)) return malformed("body is not an object with a data object");
  const data = body.data;
  const id = data.id;
  if (!isNonEmptyString(id)) return malformed("data.id is missing");
  const type = data.event_type;
  if (!isNonEmptyString(type)) return malformed("data.event_type is missing");
  if (IGNORED_EVENT_TYPES.has(type)) return acknowledged(id);
  if (!STATUS_EVENT_TYPES.has(type)) return unsupportedEvent(`event type ${type}`);
  const occurredAt = parseIsoTimestamp(data.occurred_at);
  if (occurredAt === undefined) return malformed("data.occurred_at is not an ISO-8601 time");
  const payload = data.payload;
  if (!isRecord(payload)) return malformed("data.payload is missing");
  const messageId = payload.id;
  if (!isNonEmptyString(messageId)) return malformed("data.payload.id is missing");
  const to = payload.to;
  const cc = payload.cc;
  if (!Array.isArray(to)) return malformed("data.payload.to is not an array");
  if (cc !== undefined && cc !== null && !Array.isArray(cc)) return malformed("data.payload.cc is not an array");
  if (to.length === 0 && (!Array.isArray(cc) || cc.length === 0)) return malformed("no recipients in to[] or cc[]");

  let errorCode: string | null = null;
  let errorMessage: string | null = null;
  const errors = payload.errors;
  if (Array.isArray(errors) && isRecord(errors[0])) {
    const first = errors[0];
    if (isNonEmptyString(first.code) || typeof first.code === "number") errorCode = String(first.code);
    if (isNonEmptyString(first.title)) errorMessage = first.title;
    else if (isNonEmptyString(first.detail)) errorMessage = first.detail;
  }

  const events: NormalizedEvent[] = [];
  const lists = Array.isArray(cc) ? [to, cc] : [to];
  for (const list of lists) {
    for (const entry of list as unknown[]) {
      if (!isRecord(entry) || !isNonEmptyString(entry.phone_number) || typeof entry.status !== "string") {
        return malformed("a recipient lacks phone_number or status");
      }
      const status = TELNYX_STATUSES.get(entry.status);
      if (status === undefined) return unsupportedEvent(`recipient status ${entry.status}`);
      const recipient = entry.phone_number;
      const providerEventId = `${id}:${recipient}`;
      if (events.some((e) => e.providerEventId === providerEventId)) continue;
      const failed = status === "failed" || status === "unknown";
      events.push({
        provider: context.provider,
        providerEventId,
        providerMessageId: messageId,
        recipient,
        type,
        status,
        rawStatus: entry.status,
        occurredAt,
        errorCode: failed ? errorCode : null,
        errorMessage: failed ? errorMessage : null,
      });
    }
  }
  return extracted(id, events);
}
