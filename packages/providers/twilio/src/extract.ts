import {
  acknowledged,
  eventIdOf,
  extracted,
  isNonEmptyString,
  malformed,
  parseCompactUtcTime,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
  type FormParams,
} from "@floodgate/provider-kit";

/** Twilio `MessageStatus` → normalized status (providers.md §3). */
export const TWILIO_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["accepted", "queued"],
  ["scheduled", "queued"],
  ["queued", "queued"],
  ["sending", "queued"],
  ["sent", "sent"],
  ["delivered", "delivered"],
  ["undelivered", "failed"],
  ["failed", "failed"],
  ["read", "opened"],
  ["canceled", "failed"],
  ["partially_delivered", "unknown"],
]);

/** Inbound statuses: acknowledged, no events. */
const INBOUND: ReadonlySet<string> = new Set(["receiving", "received"]);

/** One value of a parameter; a repeated one is `null` (never pick the convenient copy). */
function one(params: FormParams, name: string): string | undefined | null {
  const value = params[name];
  return value === undefined || typeof value === "string" ? value : null;
}

/** The current name's value, or the legacy name's when the current one is absent (not when repeated). */
function current(params: FormParams, name: string, legacy: string): string | undefined | null {
  const value = one(params, name);
  return value === undefined ? one(params, legacy) : value;
}

/**
 * Maps a Twilio status callback (form parameters) to one event. Twilio sends no event id and
 * no event time: the id is `MessageSid:MessageStatus[:ErrorCode]`, the time `RawDlrDoneDate`
 * (`YYMMDDhhmm`, UTC) when the carrier gave one, else the arrival time. The legacy `SmsSid` /
 * `SmsStatus` are read when the current names are absent.
 */
export function extractTwilio(payload: unknown, context: ExtractContext): ExtractResult {
  const params = payload as FormParams;
  const sid = current(params, "MessageSid", "SmsSid");
  const status = current(params, "MessageStatus", "SmsStatus");
  if (!isNonEmptyString(sid)) return malformed("MessageSid is missing or repeated");
  if (!isNonEmptyString(status)) return malformed("MessageStatus is missing or repeated");
  const errorCode = one(params, "ErrorCode");
  if (errorCode === null) return malformed("ErrorCode is repeated");
  const id = eventIdOf(sid, status, errorCode);
  if (INBOUND.has(status)) return acknowledged(id);
  const normalized = TWILIO_STATUSES.get(status);
  if (normalized === undefined) return unsupportedEvent(`MessageStatus ${status}`);
  const to = one(params, "To");
  const message = one(params, "ErrorMessage");
  return extracted(id, [
    {
      provider: context.provider,
      providerEventId: id,
      providerMessageId: sid,
      recipient: isNonEmptyString(to) ? to : "",
      type: status,
      status: normalized,
      rawStatus: status,
      occurredAt: parseCompactUtcTime(one(params, "RawDlrDoneDate")) ?? context.receivedAt,
      errorCode: isNonEmptyString(errorCode) ? errorCode : status === "canceled" ? "canceled" : null,
      errorMessage: isNonEmptyString(message) ? message : null,
    },
  ]);
}
