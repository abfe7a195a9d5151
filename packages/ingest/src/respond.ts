import type { ServerResponse } from "node:http";
import { isRetryable } from "./outcome.js";
import type { IngestResult } from "./ingest.js";

/** Seconds a provider is asked to wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** Writes an ingest result as the HTTP answer: the status, a small JSON body, `Retry-After` on 503. */
export function writeResult(res: ServerResponse, r: IngestResult): void {
  // Only the outcome and its coarse reason go back: details are for logs (they may describe
  // which check failed, and a forger learns nothing useful from the reason alone).
  const body = JSON.stringify(r.reason ? { outcome: r.outcome, reason: r.reason } : { outcome: r.outcome });
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  };
  if (isRetryable(r.outcome)) headers["retry-after"] = RETRY_AFTER_SECONDS;
  res.writeHead(r.status, headers);
  res.end(body);
}
