import {
  eventIdOf,
  isNonEmptyString,
  isRecord,
  malformed,
  parseIsoTimestamp,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
  type ItemResult,
  extractArrayItems,
} from "@floodgate/provider-kit";

/** Bandwidth callback `type` → normalized status (providers.md §11). */
export const BANDWIDTH_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["message-sending", "sent"],
  ["message-delivered", "delivered"],
  ["message-failed", "failed"],
]);

/** Inbound messages: not delivery status, no event. */
const IGNORED: ReadonlySet<string> = new Set(["message-received"]);


/** One item to one event, `null` for an inbound item, or why it cannot be mapped. */
function mapItem(item: unknown, context: ExtractContext): ItemResult {
  if (!isRecord(item) || !isNonEmptyString(item.type)) return malformed("an item has no type");
  const type = item.type;
  if (IGNORED.has(type)) return null;
  const status = BANDWIDTH_STATUSES.get(type);
  if (status === undefined) return unsupportedEvent(`type ${type}`);
  const message = item.message;
  if (!isRecord(message) || !isNonEmptyString(message.id)) return malformed(`a ${type} item has no message.id`);
  const to = isNonEmptyString(item.to) ? item.to : Array.isArray(message.to) && isNonEmptyString(message.to[0]) ? message.to[0] : "";
  const failed = status === "failed";
  return {
    provider: context.provider,
    providerEventId: eventIdOf(message.id, type, to),
    providerMessageId: message.id,
    recipient: to,
    type,
    status,
    rawStatus: type,
    occurredAt: parseIsoTimestamp(item.time) ?? parseIsoTimestamp(message.time) ?? context.receivedAt,
    errorCode: failed && (typeof item.errorCode === "number" || isNonEmptyString(item.errorCode)) ? String(item.errorCode) : null,
    errorMessage: failed && isNonEmptyString(item.description) ? item.description : null,
  };
}

/**
 * Maps a Bandwidth callback, always a JSON array, to one event per item (dedup is per event:
 * a retried POST may regroup items). Bandwidth sends no event id: it is `message.id:type:to`.
 * The POST's own id is a digest of its body. An inbound item is skipped; an item that cannot be
 * mapped becomes an unmapped part (`[item]`), kept by the gateway, without refusing the others.
 */
export function extractBandwidth(body: unknown, context: ExtractContext): ExtractResult {
  return extractArrayItems(body, context, mapItem);
}
