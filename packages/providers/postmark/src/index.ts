export { postmark, postmarkConfig, type PostmarkConfig } from "./provider.js";
export { extractPostmark, POSTMARK_BOUNCE_STATUSES, POSTMARK_RECORD_STATUSES } from "./extract.js";
