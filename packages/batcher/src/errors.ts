/** Thrown by `add()` once `close()` has been called: the batcher no longer accepts work. */
export class BatcherClosedError extends Error {
  override readonly name = "BatcherClosedError";
  constructor(message = "batcher is closed", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Rejection of `drain()`/`close()` when flushes failed and no `onFlushError` handler was given,
 * so failures are never silently swallowed. `errors` holds every failure since the last drain.
 */
export class BatcherFlushError extends Error {
  override readonly name = "BatcherFlushError";
  readonly errors: readonly unknown[];
  /** Number of items in the failed batches. */
  readonly failedItems: number;
  constructor(errors: readonly unknown[], failedItems: number) {
    super(`${errors.length} batch flush(es) failed (${failedItems} items)`, { cause: errors[0] });
    this.errors = errors;
    this.failedItems = failedItems;
  }
}

/** Thrown by `createBatcher` for an invalid option. */
export class BatcherConfigError extends Error {
  override readonly name = "BatcherConfigError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
