export { mailgun, mailgunConfig, MAILGUN_TOLERANCE_SECONDS, type MailgunConfig } from "./provider.js";
export { extractMailgun, MAILGUN_STATUSES } from "./extract.js";
