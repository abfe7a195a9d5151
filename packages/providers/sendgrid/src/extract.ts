import {
  acknowledged,
  digestId,
  extracted,
  isNonEmptyString,
  isRecord,
  malformed,
  parseUnixSeconds,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
  type NormalizedEvent,
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

/**
 * Maps a SendGrid Event Webhook POST, a JSON array of up to thousands of events of different
 * messages, to one event per item: id `sg_event_id` (SendGrid's own; dedup is per event), message
 * id the part of `sg_message_id` before the first `.` (the `X-Message-Id` Mail Send returned),
 * time `timestamp`. A bounce of `type` `blocked` is a (soft) failure, other bounces are bounced.
 * The POST's id is a digest of its body.
 */
export function extractSendgrid(body: unknown, context: ExtractContext): ExtractResult {
  if (!Array.isArray(body)) return malformed("body is not a JSON array");
  const events: NormalizedEvent[] = [];
  const seen = new Set<string>();
  for (const [i, item] of (body as unknown[]).entries()) {
    if (!isRecord(item) || !isNonEmptyString(item.event)) return malformed(`item ${i} has no event`);
    const event = item.event;
    if (IGNORED.has(event)) continue;
    let status = SENDGRID_STATUSES.get(event);
    if (status === undefined) return unsupportedEvent(`item ${i}: event ${event}`);
    const eventId = item.sg_event_id;
    const messageId = item.sg_message_id;
    if (!isNonEmptyString(eventId)) return malformed(`item ${i} has no sg_event_id`);
    if (!isNonEmptyString(messageId)) return malformed(`item ${i} has no sg_message_id`);
    const occurredAt = parseUnixSeconds(item.timestamp);
    if (occurredAt === undefined) return malformed(`item ${i} has no Unix timestamp`);
    if (seen.has(eventId)) continue;
    seen.add(eventId);
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
    events.push({
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
    });
  }
  const id = digestId(context.body);
  return events.length === 0 ? acknowledged(id) : extracted(id, events);
}
