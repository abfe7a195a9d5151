import {
  isNonEmptyString,
  isRecord,
  malformed,
  parseUnixSeconds,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
  type ItemResult,
  extractArrayItems,
} from "@floodgate/provider-kit";

/** SendGrid `event` → normalized status (providers.md §4); `bounce` depends on its `type`. */
export const SENDGRID_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["processed", "queued"],
  ["deferred", "delayed"],
  ["delivered", "delivered"],
  ["dropped", "failed"],
  ["bounce", "bounced"],
  ["spamreport", "complained"],
  ["open", "opened"],
  ["click", "clicked"],
  ["unsubscribe", "unsubscribed"],
  ["group_unsubscribe", "unsubscribed"],
]);

/** Events acknowledged without a delivery status: a resubscription and account events. */
const IGNORED: ReadonlySet<string> = new Set(["group_resubscribe", "account_status_change"]);

function text(value: unknown): string | null {
  return isNonEmptyString(value) ? value : typeof value === "number" && Number.isFinite(value) ? String(value) : null;
}


/** One item to one event, `null` for an item with no delivery status, or why it cannot be mapped. */
function mapItem(item: unknown, context: ExtractContext): ItemResult {
  if (!isRecord(item) || !isNonEmptyString(item.event)) return malformed("an item has no event");
  const event = item.event;
  if (IGNORED.has(event)) return null;
  let status = SENDGRID_STATUSES.get(event);
  if (status === undefined) return unsupportedEvent(`event ${event}`);
  const eventId = item.sg_event_id;
  const messageId = item.sg_message_id;
  if (!isNonEmptyString(eventId)) return malformed(`a ${event} item has no sg_event_id`);
  if (!isNonEmptyString(messageId)) return malformed(`a ${event} item has no sg_message_id`);
  const occurredAt = parseUnixSeconds(item.timestamp);
  if (occurredAt === undefined) return malformed(`a ${event} item has no Unix timestamp`);
  let errorCode: string | null = null;
  let errorMessage: string | null = null;
  if (event === "bounce") {
    if (item.type === "blocked") status = "failed";
    errorCode = text(item.status);
    errorMessage = text(item.reason);
  } else if (event === "dropped") {
    errorMessage = text(item.reason);
  } else if (event === "deferred") {
    errorMessage = text(item.response);
  }
  const dot = messageId.indexOf(".");
  return {
    provider: context.provider,
    providerEventId: eventId,
    providerMessageId: dot === -1 ? messageId : messageId.slice(0, dot),
    recipient: isNonEmptyString(item.email) ? item.email : "",
    type: event,
    status,
    rawStatus: event === "bounce" && isNonEmptyString(item.type) ? `bounce/${item.type}` : event,
    occurredAt,
    errorCode,
    errorMessage,
  };
}

/**
 * Maps a SendGrid Event Webhook POST, a JSON array of up to thousands of events of different
 * messages, to one event per item: id `sg_event_id` (SendGrid's own; dedup is per event), message
 * id the part of `sg_message_id` before the first `.` (the `X-Message-Id` Mail Send returned),
 * time `timestamp`. A bounce of `type` `blocked` is a (soft) failure, other bounces are bounced.
 * An item that cannot be mapped does not refuse the others: it becomes an unmapped part, `[item]`,
 * which the gateway keeps in the dead letters (a POST of that one item fails alone, as itself).
 * The POST's id is a digest of its body.
 */
export function extractSendgrid(body: unknown, context: ExtractContext): ExtractResult {
  return extractArrayItems(body, context, mapItem);
}
