export { resend, resendConfig, type ResendConfig } from "./resend.js";
export { extractResend, isIgnoredResendType, RESEND_STATUSES } from "./extract.js";
