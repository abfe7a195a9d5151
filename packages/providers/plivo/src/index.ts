export { plivo, plivoConfig, type PlivoConfig } from "./provider.js";
export { extractPlivo, PLIVO_STATUSES } from "./extract.js";
