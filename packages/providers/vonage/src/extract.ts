import {
  acknowledged,
  eventIdOf,
  extracted,
  isNonEmptyString,
  isRecord,
  malformed,
  parseCompactUtcTime,
  parseIsoTimestamp,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
} from "@floodgate/provider-kit";

/** SMS API delivery receipt `status` → normalized status (providers.md §7a). */
export const VONAGE_SMS_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["accepted", "sent"],
  ["buffered", "sent"],
  ["delivered", "delivered"],
  ["expired", "failed"],
  ["failed", "failed"],
  ["rejected", "failed"],
  ["unknown", "unknown"],
]);

/** Messages API `status` → normalized status (providers.md §7b). */
export const VONAGE_MESSAGES_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["submitted", "sent"],
  ["delivered", "delivered"],
  ["rejected", "failed"],
  ["undeliverable", "failed"],
  ["read", "opened"],
]);

/** A single string (or number) value; repeated or nested values are not read. */
function one(value: unknown): string | null {
  return isNonEmptyString(value) ? value : typeof value === "number" && Number.isFinite(value) ? String(value) : null;
}

/**
 * Maps a Vonage webhook to one event. A Messages API status (`message_uuid`): id
 * `message_uuid:status:timestamp`, time `timestamp`. An SMS API delivery receipt
 * (`messageId`): id `messageId:status:scts`, time `scts` (`YYMMDDHHMM`, UTC) else the arrival
 * time, errorCode `err-code` unless `0`. An inbound message (no status) is acknowledged.
 */
export function extractVonage(payload: unknown, context: ExtractContext): ExtractResult {
  if (!isRecord(payload)) return malformed("parameters are not an object");
  const uuid = one(payload.message_uuid);
  if (uuid !== null) {
    const status = one(payload.status);
    if (status === null) return acknowledged(uuid); // inbound message
    const normalized = VONAGE_MESSAGES_STATUSES.get(status);
    if (normalized === undefined) return unsupportedEvent(`Messages API status ${status}`);
    const timestamp = one(payload.timestamp);
    const id = eventIdOf(uuid, status, timestamp);
    const error = isRecord(payload.error) ? payload.error : undefined;
    const failed = normalized === "failed";
    return extracted(id, [
      {
        provider: context.provider,
        providerEventId: id,
        providerMessageId: uuid,
        recipient: one(payload.to) ?? (isRecord(payload.to) ? (one(payload.to.number) ?? "") : ""),
        type: status,
        status: normalized,
        rawStatus: status,
        occurredAt: parseIsoTimestamp(timestamp) ?? context.receivedAt,
        errorCode: failed ? (one(error?.title) ?? one(error?.type)) : null,
        errorMessage: failed ? one(error?.detail) : null,
      },
    ]);
  }
  const messageId = one(payload.messageId);
  if (messageId === null) return malformed("neither message_uuid nor messageId");
  const status = one(payload.status);
  if (status === null) return acknowledged(messageId); // inbound SMS
  const normalized = VONAGE_SMS_STATUSES.get(status);
  if (normalized === undefined) return unsupportedEvent(`delivery receipt status ${status}`);
  const scts = one(payload.scts);
  const id = eventIdOf(messageId, status, scts);
  const code = one(payload["err-code"]);
  return extracted(id, [
    {
      provider: context.provider,
      providerEventId: id,
      providerMessageId: messageId,
      recipient: one(payload.msisdn) ?? "",
      type: status,
      status: normalized,
      rawStatus: status,
      occurredAt: parseCompactUtcTime(scts) ?? context.receivedAt,
      errorCode: code !== null && code !== "0" ? code : null,
      errorMessage: null,
    },
  ]);
}
