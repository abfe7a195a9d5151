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
} from "@floodgate/provider-kit";

/** Resend event type → normalized status (providers.md §2). */
export const RESEND_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["email.scheduled", "queued"],
  ["email.sent", "sent"],
  ["email.delivered", "delivered"],
  ["email.delivery_delayed", "delayed"],
  ["email.bounced", "bounced"],
  ["email.complained", "complained"],
  ["email.opened", "opened"],
  ["email.clicked", "clicked"],
  ["email.failed", "failed"],
  ["email.suppressed", "failed"],
]);

/** Resend types acknowledged with no events: inbound mail and account objects are not delivery status. */
export function isIgnoredResendType(type: string): boolean {
  return type === "email.received" || type.startsWith("contact.") || type.startsWith("domain.") || type.startsWith("suppression.");
}

function text(value: unknown): string | null {
  return isNonEmptyString(value) ? value : null;
}

/**
 * Maps a Resend webhook to one event. The delivery id and `providerEventId` are the `svix-id`
 * the signature covered; `occurredAt` is the top-level `created_at`; `recipient` is
 * `data.to[0]` (Resend reports per email, not per recipient). Errors: bounced →
 * `<bounce.type>/<bounce.subType>` (e.g. `Permanent/General`) and `bounce.message`; failed →
 * `failed.reason`; suppressed → `suppressed` and `suppressed.message`.
 */
export function extractResend(body: unknown, context: ExtractContext): ExtractResult {
  const deliveryId = context.deliveryId;
  if (!isNonEmptyString(deliveryId)) return malformed("no svix-id was verified");
  if (!isRecord(body)) return malformed("body is not an object");
  const type = body.type;
  if (!isNonEmptyString(type)) return malformed("type is missing");
  if (isIgnoredResendType(type)) return acknowledged(deliveryId);
  const status = RESEND_STATUSES.get(type);
  if (status === undefined) return unsupportedEvent(`event type ${type}`);
  const occurredAt = parseIsoTimestamp(body.created_at);
  if (occurredAt === undefined) return malformed("created_at is not an ISO-8601 time");
  const data = body.data;
  if (!isRecord(data)) return malformed("data is missing");
  const emailId = data.email_id;
  if (!isNonEmptyString(emailId)) return malformed("data.email_id is missing");
  const to = data.to;
  const recipient = Array.isArray(to) ? (typeof to[0] === "string" ? to[0] : "") : typeof to === "string" ? to : "";

  let errorCode: string | null = null;
  let errorMessage: string | null = null;
  if (type === "email.bounced" && isRecord(data.bounce)) {
    const kind = text(data.bounce.type);
    const subType = text(data.bounce.subType);
    errorCode = kind !== null && subType !== null ? `${kind}/${subType}` : (kind ?? subType);
    errorMessage = text(data.bounce.message);
  } else if (type === "email.failed" && isRecord(data.failed)) {
    errorMessage = text(data.failed.reason);
  } else if (type === "email.suppressed") {
    errorCode = "suppressed";
    if (isRecord(data.suppressed)) errorMessage = text(data.suppressed.message);
  }

  return extracted(deliveryId, [
    {
      provider: context.provider,
      providerEventId: deliveryId,
      providerMessageId: emailId,
      recipient,
      type,
      status,
      rawStatus: type,
      occurredAt,
      errorCode,
      errorMessage,
    },
  ]);
}
