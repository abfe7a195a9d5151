import {
  acknowledged,
  digestId,
  eventIdOf,
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

/** Bandwidth callback `type` → normalized status (providers.md §11). */
export const BANDWIDTH_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["message-sending", "sent"],
  ["message-delivered", "delivered"],
  ["message-failed", "failed"],
]);

/** Inbound messages: not delivery status, no event. */
const IGNORED: ReadonlySet<string> = new Set(["message-received"]);

/**
 * Maps a Bandwidth callback, always a JSON array, to one event per item (dedup is per event:
 * a retried POST may regroup items). Bandwidth sends no event id: it is
 * `message.id:type:to`. The POST's own id is a digest of its body. An inbound item is skipped.
 */
export function extractBandwidth(body: unknown, context: ExtractContext): ExtractResult {
  if (!Array.isArray(body)) return malformed("body is not a JSON array");
  const events: NormalizedEvent[] = [];
  const seen = new Set<string>();
  for (const [i, item] of (body as unknown[]).entries()) {
    if (!isRecord(item) || !isNonEmptyString(item.type)) return malformed(`item ${i} has no type`);
    const type = item.type;
    if (IGNORED.has(type)) continue;
    const status = BANDWIDTH_STATUSES.get(type);
    if (status === undefined) return unsupportedEvent(`item ${i}: type ${type}`);
    const message = item.message;
    if (!isRecord(message) || !isNonEmptyString(message.id)) return malformed(`item ${i} has no message.id`);
    const to = isNonEmptyString(item.to) ? item.to : Array.isArray(message.to) && isNonEmptyString(message.to[0]) ? message.to[0] : "";
    const providerEventId = eventIdOf(message.id, type, to);
    if (seen.has(providerEventId)) continue;
    seen.add(providerEventId);
    const failed = status === "failed";
    events.push({
      provider: context.provider,
      providerEventId,
      providerMessageId: message.id,
      recipient: to,
      type,
      status,
      rawStatus: type,
      occurredAt: parseIsoTimestamp(item.time) ?? parseIsoTimestamp(message.time) ?? context.receivedAt,
      errorCode: failed && (typeof item.errorCode === "number" || isNonEmptyString(item.errorCode)) ? String(item.errorCode) : null,
      errorMessage: failed && isNonEmptyString(item.description) ? item.description : null,
    });
  }
  const id = digestId(context.body);
  return events.length === 0 ? acknowledged(id) : extracted(id, events);
}
