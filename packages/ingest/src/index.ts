export { createIngest } from "./ingest.js";
export type {
  EventPublisher,
  Ingest,
  IngestOptions,
  IngestProvider,
  IngestRequest,
  IngestResult,
  ProviderHandleResult,
} from "./ingest.js";
export { OUTCOME_STATUS, httpStatusFor, isRetryable, type IngestOutcome } from "./outcome.js";
export { readBody } from "./read-body.js";
export { BodyTooLargeError, BodyReadError } from "./errors.js";
export { writeResult, RETRY_AFTER_SECONDS } from "./respond.js";
export { serveIncoming } from "./incoming.js";
export { createNodeWebhookHandler, type NodeHandlerOptions } from "./node-http.js";
