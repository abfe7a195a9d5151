export { createIngest } from "./ingest.js";
export type {
  DeadLetterStore,
  EventPublisher,
  Ingest,
  IngestHead,
  IngestHeaders,
  IngestOptions,
  IngestProvider,
  IngestRequest,
  IngestResult,
  ProviderHandleResult,
  PublishFailure,
  UnmappedWebhook,
  VerifiedProof,
} from "./ingest.js";
export { OUTCOME_STATUS, httpStatusFor, isRetryable, type IngestOutcome } from "./outcome.js";
export { readBody } from "./read-body.js";
export { BodyTooLargeError, BodyReadError } from "./errors.js";
export { writeResult, RETRY_AFTER_SECONDS } from "./respond.js";
export { serveIncoming } from "./incoming.js";
export { createNodeWebhookHandler, type NodeHandlerOptions } from "./node-http.js";
