export { sinch, sinchConfig, SINCH_TOLERANCE_SECONDS, type SinchConfig } from "./provider.js";
export { extractSinch, SINCH_STATUSES } from "./extract.js";
