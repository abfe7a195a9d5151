import {
  acknowledged,
  eventIdOf,
  extracted,
  isNonEmptyString,
  malformed,
  unsupportedEvent,
  type DeliveryStatus,
  type ExtractContext,
  type ExtractResult,
  type FormParams,
} from "@floodgate/provider-kit";

/** Plivo message `Status` → normalized status (providers.md §8). */
export const PLIVO_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["queued", "queued"],
  ["sent", "sent"],
  ["delivered", "delivered"],
  ["undelivered", "failed"],
  ["failed", "failed"],
  ["rejected", "failed"],
]);

/** `000` is Plivo's "no error". */
const NO_ERROR = "000";

function one(params: FormParams, name: string): string | undefined | null {
  const value = params[name];
  return value === undefined || typeof value === "string" ? value : null;
}

/**
 * Maps a Plivo message status callback to one event. Plivo sends no event id: it is
 * `MessageUUID:Status[:ErrorCode]` (without the `000` of success). `MessageTime` carries no
 * time zone, so the event time is the arrival time. `received` (inbound) is acknowledged.
 */
export function extractPlivo(payload: unknown, context: ExtractContext): ExtractResult {
  const params = payload as FormParams;
  const uuid = one(params, "MessageUUID");
  const status = one(params, "Status");
  const code = one(params, "ErrorCode");
  if (!isNonEmptyString(uuid)) return malformed("MessageUUID is missing or repeated");
  if (!isNonEmptyString(status)) return malformed("Status is missing or repeated");
  if (code === null) return malformed("ErrorCode is repeated");
  const errorCode = isNonEmptyString(code) && code !== NO_ERROR ? code : null;
  const id = eventIdOf(uuid, status, errorCode);
  if (status === "received") return acknowledged(id);
  const normalized = PLIVO_STATUSES.get(status);
  if (normalized === undefined) return unsupportedEvent(`Status ${status}`);
  const to = one(params, "To");
  return extracted(id, [
    {
      provider: context.provider,
      providerEventId: id,
      providerMessageId: uuid,
      recipient: isNonEmptyString(to) ? to : "",
      type: status,
      status: normalized,
      rawStatus: status,
      occurredAt: context.receivedAt,
      errorCode: normalized === "failed" ? errorCode : null,
      errorMessage: null,
    },
  ]);
}
