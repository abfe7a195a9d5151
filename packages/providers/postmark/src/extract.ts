import {
  acknowledged,
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
} from "@floodgate/provider-kit";

/** Postmark `RecordType` → normalized status, for the record types that are not bounces (providers.md §5). */
export const POSTMARK_RECORD_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["Delivery", "delivered"],
  ["SpamComplaint", "complained"],
  ["Open", "opened"],
  ["Click", "clicked"],
  ["SubscriptionChange", "unsubscribed"],
]);

/**
 * Bounce `Type` → normalized status. `soft` types are `delayed` while the address stays
 * active and `bounced` once Postmark deactivated it; informational types are acknowledged.
 */
export const POSTMARK_BOUNCE_STATUSES: ReadonlyMap<string, DeliveryStatus | "soft" | "ignore"> = new Map<string, DeliveryStatus | "soft" | "ignore">([
  ["HardBounce", "bounced"],
  ["BadEmailAddress", "bounced"],
  ["ManuallyDeactivated", "bounced"],
  ["DMARCPolicy", "bounced"],
  ["Transient", "soft"],
  ["SoftBounce", "soft"],
  ["DnsError", "soft"],
  ["Blocked", "failed"],
  ["SMTPApiError", "failed"],
  ["TemplateRenderingFailed", "failed"],
  ["VirusNotification", "failed"],
  ["SpamNotification", "failed"],
  ["Unknown", "failed"],
  ["Unsubscribe", "unsubscribed"],
  ["SpamComplaint", "complained"],
  ["AutoResponder", "ignore"],
  ["AddressChange", "ignore"],
  ["Subscribe", "ignore"],
  ["ChallengeVerification", "ignore"],
  ["OpenRelayTest", "ignore"],
  ["Unconfirmed", "ignore"],
  ["InboundError", "ignore"],
]);

/** The field holding each record type's time. */
const TIME_FIELD: Readonly<Record<string, string>> = {
  Delivery: "DeliveredAt",
  Bounce: "BouncedAt",
  SpamComplaint: "BouncedAt",
  Open: "ReceivedAt",
  Click: "ReceivedAt",
  SubscriptionChange: "ChangedAt",
};

function text(value: unknown): string | null {
  return isNonEmptyString(value) ? value : null;
}

/**
 * Maps a Postmark webhook (one event per POST) to one event. Postmark sends no event id (a
 * Bounce's numeric `ID` can exceed 2^53, so it is not used): it is
 * `RecordType:MessageID:<recipient>:<time as sent>`. The recipient is `Recipient` (or `Email`
 * for bounces and complaints); errors carry the bounce `Type` and its `Details` (else
 * `Description`).
 */
export function extractPostmark(body: unknown, context: ExtractContext): ExtractResult {
  if (!isRecord(body)) return malformed("body is not an object");
  const recordType = body.RecordType;
  if (!isNonEmptyString(recordType)) return malformed("RecordType is missing");
  const timeField = TIME_FIELD[recordType];
  if (timeField === undefined) return unsupportedEvent(`RecordType ${recordType}`);
  const messageId = body.MessageID;
  if (!isNonEmptyString(messageId)) return malformed("MessageID is missing");
  const recipient = text(body.Recipient) ?? text(body.Email) ?? "";
  const time = body[timeField];
  const id = eventIdOf(recordType, messageId, recipient, typeof time === "string" ? time : null);

  let status: DeliveryStatus;
  let rawStatus = recordType;
  let errorCode: string | null = null;
  let errorMessage: string | null = null;
  if (recordType === "Bounce") {
    const type = body.Type;
    if (!isNonEmptyString(type)) return malformed("Bounce without Type");
    const mapped = POSTMARK_BOUNCE_STATUSES.get(type);
    if (mapped === undefined) return unsupportedEvent(`Bounce Type ${type}`);
    if (mapped === "ignore") return acknowledged(id);
    status = mapped === "soft" ? (body.Inactive === true ? "bounced" : "delayed") : mapped;
    rawStatus = `Bounce/${type}`;
    errorCode = type;
    errorMessage = text(body.Details) ?? text(body.Description);
  } else if (recordType === "SubscriptionChange") {
    if (body.SuppressSending !== true) return acknowledged(id);
    status = "unsubscribed";
    errorMessage = text(body.SuppressionReason);
  } else {
    status = POSTMARK_RECORD_STATUSES.get(recordType) as DeliveryStatus;
    if (recordType === "SpamComplaint") errorCode = "SpamComplaint";
  }
  return extracted(id, [
    {
      provider: context.provider,
      providerEventId: id,
      providerMessageId: messageId,
      recipient,
      type: recordType,
      status,
      rawStatus,
      occurredAt: parseIsoTimestamp(time) ?? context.receivedAt,
      errorCode,
      errorMessage,
    },
  ]);
}
