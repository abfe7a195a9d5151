import {
  acknowledged,
  extracted,
  isNonEmptyString,
  isRecord,
  malformed,
  parseUnixSeconds,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
} from "@floodgate/provider-kit";

/** Mailgun `event` → normalized status (providers.md §6); `failed` depends on `severity` and `reason`. */
export const MAILGUN_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["accepted", "queued"],
  ["delivered", "delivered"],
  ["failed", "bounced"],
  ["rejected", "failed"],
  ["opened", "opened"],
  ["clicked", "clicked"],
  ["complained", "complained"],
  ["unsubscribed", "unsubscribed"],
]);

function text(value: unknown): string | null {
  return isNonEmptyString(value) ? value : typeof value === "number" && Number.isFinite(value) ? String(value) : null;
}

/** `<id@domain>` → `id@domain`: the send API answers with brackets, the events carry none. */
function withoutBrackets(id: string): string {
  return id.startsWith("<") && id.endsWith(">") ? id.slice(1, -1) : id;
}

/**
 * Maps a Mailgun webhook (`{ signature, "event-data" }`) to one event: id `event-data.id`,
 * message id `message.headers["message-id"]` without angle brackets, time `timestamp`. A
 * temporary failure is `delayed`; a permanent one is `bounced`, or `failed` when Mailgun
 * suppressed the send (`reason` `suppress-*`). `stored` is acknowledged.
 */
export function extractMailgun(body: unknown, context: ExtractContext): ExtractResult {
  if (!isRecord(body) || !isRecord(body["event-data"])) return malformed("event-data is missing");
  const data = body["event-data"];
  const id = data.id;
  const event = data.event;
  if (!isNonEmptyString(id)) return malformed("event-data.id is missing");
  if (!isNonEmptyString(event)) return malformed("event-data.event is missing");
  if (event === "stored") return acknowledged(id);
  let status = MAILGUN_STATUSES.get(event);
  if (status === undefined) return unsupportedEvent(`event ${event}`);
  const headers = isRecord(data.message) && isRecord(data.message.headers) ? data.message.headers : undefined;
  const messageId = headers?.["message-id"];
  if (!isNonEmptyString(messageId)) return malformed("event-data.message.headers.message-id is missing");
  const occurredAt = parseUnixSeconds(data.timestamp);
  if (occurredAt === undefined) return malformed("event-data.timestamp is not Unix seconds");
  const deliveryStatus = isRecord(data["delivery-status"]) ? data["delivery-status"] : {};
  const reason = text(data.reason);
  let rawStatus = event;
  let errorCode: string | null = null;
  let errorMessage: string | null = null;
  if (event === "failed") {
    const severity = text(data.severity) ?? "permanent";
    rawStatus = `failed/${severity}${reason !== null ? `/${reason}` : ""}`;
    status = severity === "temporary" ? "delayed" : reason?.startsWith("suppress-") ? "failed" : "bounced";
    errorCode = text(deliveryStatus.code);
    errorMessage = text(deliveryStatus.description) ?? text(deliveryStatus.message) ?? reason;
  } else if (event === "rejected") {
    errorMessage = isRecord(data.reject) ? text(data.reject.reason) : reason;
  }
  return extracted(id, [
    {
      provider: context.provider,
      providerEventId: id,
      providerMessageId: withoutBrackets(messageId),
      recipient: text(data.recipient) ?? "",
      type: event,
      status,
      rawStatus,
      occurredAt,
      errorCode,
      errorMessage,
    },
  ]);
}
