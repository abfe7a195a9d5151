export { bandwidth, bandwidthConfig, type BandwidthConfig } from "./provider.js";
export { extractBandwidth, BANDWIDTH_STATUSES } from "./extract.js";
