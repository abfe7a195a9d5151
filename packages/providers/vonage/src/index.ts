export { vonage, vonageConfig, type VonageConfig } from "./provider.js";
export { extractVonage, VONAGE_MESSAGES_STATUSES, VONAGE_SMS_STATUSES } from "./extract.js";
