export { createBatcher } from "./batcher.js";
export type { Batcher, BatcherOptions, BatcherStats } from "./batcher.js";
export { BatcherClosedError, BatcherConfigError, BatcherFlushError } from "./errors.js";
