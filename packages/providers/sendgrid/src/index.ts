export { sendgrid, sendgridConfig, SENDGRID_TOLERANCE_SECONDS, type SendgridConfig } from "./provider.js";
export { extractSendgrid, SENDGRID_STATUSES } from "./extract.js";
