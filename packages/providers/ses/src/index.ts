export { ses, sesConfig, type SesConfig } from "./provider.js";
export { extractSes, SES_STATUSES } from "./extract.js";
