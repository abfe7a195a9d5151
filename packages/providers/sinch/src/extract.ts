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

/** Sinch delivery report `status` → normalized status (providers.md §10). */
export const SINCH_STATUSES: ReadonlyMap<string, DeliveryStatus> = new Map<string, DeliveryStatus>([
  ["Queued", "queued"],
  ["Dispatched", "sent"],
  ["Delivered", "delivered"],
  ["Aborted", "failed"],
  ["Cancelled", "failed"],
  ["Rejected", "failed"],
  ["Deleted", "failed"],
  ["Failed", "failed"],
  ["Expired", "failed"],
  ["Unknown", "unknown"],
]);

const RECIPIENT_REPORTS: ReadonlySet<string> = new Set(["recipient_delivery_report_sms", "recipient_delivery_report_mms"]);
const BATCH_REPORTS: ReadonlySet<string> = new Set(["delivery_report_sms", "delivery_report_mms"]);

function codeOf(value: unknown): string | null {
  return typeof value === "number" && Number.isFinite(value) ? String(value) : isNonEmptyString(value) ? value : null;
}

function event(context: ExtractContext, type: string, batchId: string, recipient: string, status: string, normalized: DeliveryStatus, code: string | null, at: number): NormalizedEvent {
  return {
    provider: context.provider,
    providerEventId: eventIdOf(batchId, recipient, code ?? status),
    providerMessageId: batchId,
    recipient,
    type,
    status: normalized,
    rawStatus: status,
    occurredAt: at,
    // Code 0 is "delivered"; a detail code only means something on a failure or an unknown.
    errorCode: normalized === "failed" || normalized === "unknown" ? code : null,
    errorMessage: null,
  };
}

/**
 * Maps a Sinch SMS (or MMS) delivery report. A per-recipient report is one event, id
 * `batch_id:recipient:code`, time `at` (else `operator_status_at`, else the arrival time). A
 * per-batch summary is one event per listed recipient (the "full" report type), at the arrival
 * time; a summary with counts only is acknowledged. The message id is the `batch_id`.
 */
export function extractSinch(body: unknown, context: ExtractContext): ExtractResult {
  if (!isRecord(body)) return malformed("body is not an object");
  const type = body.type;
  if (!isNonEmptyString(type)) return isNonEmptyString(body.project_id) ? unsupportedEvent("a Conversation API callback") : malformed("type is missing");
  const batchId = body.batch_id;
  if (RECIPIENT_REPORTS.has(type)) {
    if (!isNonEmptyString(batchId) || !isNonEmptyString(body.recipient) || !isNonEmptyString(body.status)) return malformed("batch_id, recipient or status is missing");
    const normalized = SINCH_STATUSES.get(body.status);
    if (normalized === undefined) return unsupportedEvent(`status ${body.status}`);
    const at = parseIsoTimestamp(body.at) ?? parseIsoTimestamp(body.operator_status_at) ?? context.receivedAt;
    const e = event(context, type, batchId, body.recipient, body.status, normalized, codeOf(body.code), at);
    return extracted(e.providerEventId, [e]);
  }
  if (BATCH_REPORTS.has(type)) {
    if (!isNonEmptyString(batchId) || !Array.isArray(body.statuses)) return malformed("batch_id or statuses is missing");
    const events: NormalizedEvent[] = [];
    const seen = new Set<string>();
    for (const entry of body.statuses as unknown[]) {
      if (!isRecord(entry) || !isNonEmptyString(entry.status)) return malformed("a statuses entry lacks status");
      const normalized = SINCH_STATUSES.get(entry.status);
      if (normalized === undefined) return unsupportedEvent(`status ${entry.status}`);
      if (entry.recipients === undefined) continue;
      if (!Array.isArray(entry.recipients)) return malformed("statuses[].recipients is not an array");
      for (const recipient of entry.recipients as unknown[]) {
        if (!isNonEmptyString(recipient)) return malformed("a recipient is not a string");
        const e = event(context, type, batchId, recipient, entry.status, normalized, codeOf(entry.code), context.receivedAt);
        if (seen.has(e.providerEventId)) continue;
        seen.add(e.providerEventId);
        events.push(e);
      }
    }
    return events.length === 0 ? acknowledged(eventIdOf(batchId, digestId(context.body))) : extracted(eventIdOf(batchId, digestId(context.body)), events);
  }
  return unsupportedEvent(`type ${type}`);
}
