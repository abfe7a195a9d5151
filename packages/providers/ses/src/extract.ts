import {
  extracted,
  acknowledged,
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

/** SES `eventType` (or `notificationType`) → normalized status (providers.md §9); a Bounce depends on its `bounceType`. */
export const SES_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["Send", "sent"],
  ["Delivery", "delivered"],
  ["DeliveryDelay", "delayed"],
  ["Bounce", "bounced"],
  ["Complaint", "complained"],
  ["Reject", "failed"],
  ["Rendering Failure", "failed"],
  ["Open", "opened"],
  ["Click", "clicked"],
  ["Subscription", "unsubscribed"],
]);

interface Target {
  recipient: string;
  errorCode: string | null;
  errorMessage: string | null;
}

function text(value: unknown): string | null {
  return isNonEmptyString(value) ? value : null;
}

function addresses(list: unknown): Target[] {
  return Array.isArray(list) ? list.filter(isNonEmptyString).map((recipient) => ({ recipient, errorCode: null, errorMessage: null })) : [];
}

/** Recipients of `{emailAddress, status?, diagnosticCode?}` lists (bounces, delays, complaints). */
function recipientsOf(list: unknown): Target[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isRecord).flatMap((r) => (isNonEmptyString(r.emailAddress) ? [{ recipient: r.emailAddress, errorCode: text(r.status), errorMessage: text(r.diagnosticCode) }] : []));
}

/**
 * Maps an SES event carried by a verified SNS Notification: `Message` holds the SES event
 * (`eventType` with a configuration set, `notificationType` with identity notifications).
 * One event per recipient, id `<SNS MessageId>:<recipient>`, message id `mail.messageId` (what
 * `SendEmail` returned), time the event's own timestamp (else `mail.timestamp`).
 */
export function extractSes(payload: unknown, context: ExtractContext): ExtractResult {
  if (!isRecord(payload) || !isNonEmptyString(payload.MessageId) || !isNonEmptyString(payload.Message)) return malformed("not an SNS notification");
  const snsMessageId = payload.MessageId;
  let event: unknown;
  try {
    event = JSON.parse(payload.Message);
  } catch {
    return malformed("Message is not JSON");
  }
  if (!isRecord(event)) return malformed("Message is not an SES event");
  const type = text(event.eventType) ?? text(event.notificationType);
  if (type === null) return malformed("Message has no eventType");
  let status = SES_STATUSES.get(type);
  if (status === undefined) return unsupportedEvent(`SES event ${type}`);
  const mail = event.mail;
  if (!isRecord(mail) || !isNonEmptyString(mail.messageId)) return malformed("mail.messageId is missing");
  const detail = (key: string) => (isRecord(event[key]) ? event[key] : {});

  let targets: Target[];
  let at: unknown;
  let rawStatus = type;
  let shared: Pick<Target, "errorCode" | "errorMessage"> = { errorCode: null, errorMessage: null };
  switch (type) {
    case "Delivery":
      targets = addresses(detail("delivery").recipients);
      at = detail("delivery").timestamp;
      break;
    case "DeliveryDelay":
      targets = recipientsOf(detail("deliveryDelay").delayedRecipients);
      at = detail("deliveryDelay").timestamp;
      break;
    case "Bounce": {
      const bounce = detail("bounce");
      const bounceType = text(bounce.bounceType) ?? "Undetermined";
      if (bounceType !== "Permanent") status = "failed";
      rawStatus = `Bounce/${bounceType}${isNonEmptyString(bounce.bounceSubType) ? `/${bounce.bounceSubType}` : ""}`;
      targets = recipientsOf(bounce.bouncedRecipients);
      at = bounce.timestamp;
      break;
    }
    case "Complaint":
      targets = recipientsOf(detail("complaint").complainedRecipients).map((t) => ({ ...t, errorCode: text(detail("complaint").complaintFeedbackType) }));
      at = detail("complaint").timestamp;
      break;
    case "Reject":
      targets = addresses(mail.destination);
      shared = { errorCode: "Reject", errorMessage: text(detail("reject").reason) };
      break;
    case "Rendering Failure":
      targets = addresses(mail.destination);
      shared = { errorCode: "RenderingFailure", errorMessage: text(detail("failure").errorMessage) };
      break;
    default:
      // Send, Open, Click, Subscription: the event is about the message's recipients.
      targets = addresses(mail.destination);
      at = detail(type === "Send" ? "send" : type.toLowerCase()).timestamp;
  }
  const occurredAt = parseIsoTimestamp(at) ?? parseIsoTimestamp(mail.timestamp) ?? context.receivedAt;
  const events: NormalizedEvent[] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    const providerEventId = `${snsMessageId}:${target.recipient}`;
    if (seen.has(providerEventId)) continue;
    seen.add(providerEventId);
    events.push({
      provider: context.provider,
      providerEventId,
      providerMessageId: mail.messageId,
      recipient: target.recipient,
      type,
      status,
      rawStatus,
      occurredAt,
      errorCode: target.errorCode ?? shared.errorCode,
      errorMessage: target.errorMessage ?? shared.errorMessage,
    });
  }
  return events.length === 0 ? acknowledged(snsMessageId) : extracted(snsMessageId, events);
}
