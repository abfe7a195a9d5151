import { BatcherClosedError, BatcherConfigError, BatcherFlushError } from "./errors.js";

/** Options of {@link createBatcher}. */
export interface BatcherOptions<T> {
  /** A batch is flushed as soon as it holds this many items (WEBHOOK_BATCH_SIZE, e.g. 100). */
  maxSize: number;
  /**
   * A non-empty batch is flushed at the latest this long after its first item was added
   * (WEBHOOK_FLUSH_INTERVAL, e.g. 1000 ms), even if it is not full.
   */
  maxWaitMs: number;
  /** At most this many `flush` calls run at once (WEBHOOK_MAX_WORKERS, e.g. 10). */
  maxConcurrentFlushes: number;
  /**
   * Bound on items held: buffered in the open batch plus in batches waiting for or running a
   * flush. At or above it the batcher is `saturated` (e.g. 1000).
   */
  maxPending: number;
  /**
   * Weight of an item (default 1), e.g. the number of events a queued message carries. With
   * `maxBatchWeight` and `maxPendingWeight` it bounds the work per batch and the memory held,
   * whatever the items' sizes.
   */
  weigh?: (item: T) => number;
  /** A batch is sealed before it would exceed this total weight (one heavy item may exceed it alone). */
  maxBatchWeight?: number;
  /** Saturated also once the weight of items held reaches this. */
  maxPendingWeight?: number;
  /** Writes one batch. Items are in `add` order. The array is owned by the callee. */
  flush: (items: T[]) => Promise<void>;
  /**
   * Called when `flush` rejects (or throws), with the batch that failed, so the caller can
   * release the items (the worker naks them). Its capacity is freed either way. Without it,
   * failures are collected and `drain()`/`close()` rejects with {@link BatcherFlushError}.
   */
  onFlushError?: (err: unknown, items: T[]) => void;
}

/** Point-in-time counters of a {@link Batcher}. */
export interface BatcherStats {
  /** Items in the open (not yet sealed) batch. */
  buffered: number;
  /** Items in sealed batches: waiting for a flush slot or being flushed. */
  inFlight: number;
  /** Batches whose `flush` is running now. */
  flushing: number;
  /** Sealed batches waiting for a flush slot. */
  queued: number;
  /** buffered + inFlight: what counts against `maxPending`. */
  pending: number;
  /** Total weight of the pending items (equals `pending` without `weigh`). */
  pendingWeight: number;
}

/** Size- and age-triggered batching with bounded flush concurrency and backpressure. */
export interface Batcher<T> {
  /**
   * Adds an item; never blocks and never drops it. Returns `false` when the batcher is
   * saturated after this add: the caller should `await whenReady()` before adding more, which
   * is what keeps items held at or below `maxPending`.
   * @throws {BatcherClosedError} after `close()`.
   */
  add(item: T): boolean;
  /** True while pending items >= `maxPending` (or their weight >= `maxPendingWeight`). */
  readonly saturated: boolean;
  /** Resolves once the batcher is below `maxPending` (immediately if it already is). */
  whenReady(): Promise<void>;
  /**
   * Flushes the open batch now and resolves when every batch added so far has been flushed
   * (success or `onFlushError`). Further `add`s are still accepted.
   * @throws {BatcherFlushError} when flushes failed and there is no `onFlushError`.
   */
  drain(): Promise<void>;
  /** Stops accepting items, then drains: the final flush on shutdown. */
  close(): Promise<void>;
  /** Current counters. */
  stats(): BatcherStats;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function createDeferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new BatcherConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

/**
 * Creates a batcher. A batch is sealed when it reaches `maxSize` or when its oldest item is
 * `maxWaitMs` old (one timer per open batch, no polling); sealed batches are flushed in order
 * with at most `maxConcurrentFlushes` at once.
 */
export function createBatcher<T>(options: BatcherOptions<T>): Batcher<T> {
  const { maxSize, maxWaitMs, maxConcurrentFlushes, maxPending, flush, onFlushError } = options;
  const weigh = options.weigh;
  const maxBatchWeight = options.maxBatchWeight ?? Number.POSITIVE_INFINITY;
  const maxPendingWeight = options.maxPendingWeight ?? Number.POSITIVE_INFINITY;
  if (!(maxBatchWeight > 0) || !(maxPendingWeight > 0)) {
    throw new BatcherConfigError("maxBatchWeight and maxPendingWeight must be > 0");
  }
  assertPositiveInteger("maxSize", maxSize);
  assertPositiveInteger("maxConcurrentFlushes", maxConcurrentFlushes);
  assertPositiveInteger("maxPending", maxPending);
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
    throw new BatcherConfigError(`maxWaitMs must be a finite number >= 0, got ${String(maxWaitMs)}`);
  }

  let open: T[] = [];
  let openWeight = 0;
  let pendingWeight = 0;
  const batchWeight = new WeakMap<T[], number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const queue: T[][] = [];
  let queuedItems = 0;
  let flushingItems = 0;
  let flushing = 0;
  let closed = false;
  // Shared by all waiters so that a saturated consumer polling whenReady() costs one promise
  // per saturation episode, not one per call.
  let ready: Deferred | undefined;
  let idle: Deferred | undefined;
  let unhandled: unknown[] = [];
  let unhandledItems = 0;

  const pending = (): number => open.length + queuedItems + flushingItems;
  const hasRoom = (): boolean => pending() < maxPending && pendingWeight < maxPendingWeight;

  const onTimer = (): void => {
    timer = undefined;
    seal();
  };

  function seal(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (open.length === 0) return;
    const batch = open;
    batchWeight.set(batch, openWeight);
    open = [];
    openWeight = 0;
    queue.push(batch);
    queuedItems += batch.length;
    pump();
  }

  function pump(): void {
    while (flushing < maxConcurrentFlushes && queue.length > 0) {
      const batch = queue.shift()!;
      queuedItems -= batch.length;
      flushingItems += batch.length;
      flushing++;
      let p: Promise<void>;
      try {
        p = flush(batch);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        () => settle(batch),
        (err: unknown) => {
          reportError(err, batch);
          settle(batch);
        },
      );
    }
  }

  function reportError(err: unknown, batch: T[]): void {
    if (onFlushError === undefined) {
      unhandled.push(err);
      unhandledItems += batch.length;
      return;
    }
    try {
      onFlushError(err, batch);
    } catch (handlerErr) {
      // A throwing handler must not wedge the batcher's accounting; surface it via drain().
      unhandled.push(handlerErr);
      unhandledItems += batch.length;
    }
  }

  function settle(batch: T[]): void {
    flushing--;
    flushingItems -= batch.length;
    pendingWeight -= batchWeight.get(batch) ?? 0;
    pump();
    if (ready !== undefined && hasRoom()) {
      const r = ready;
      ready = undefined;
      r.resolve();
    }
    if (idle !== undefined && flushing === 0 && queue.length === 0) {
      const d = idle;
      idle = undefined;
      d.resolve();
    }
  }

  async function drain(): Promise<void> {
    seal();
    // Items added while we wait may be sealed later; loop until nothing is left anywhere.
    while (flushing > 0 || queue.length > 0 || open.length > 0) {
      seal();
      if (flushing === 0 && queue.length === 0) continue;
      idle ??= createDeferred();
      await idle.promise;
    }
    if (unhandled.length > 0) {
      const err = new BatcherFlushError(unhandled, unhandledItems);
      unhandled = [];
      unhandledItems = 0;
      throw err;
    }
  }

  return {
    add(item: T): boolean {
      if (closed) throw new BatcherClosedError();
      const w = weigh ? weigh(item) : 1;
      if (open.length > 0 && openWeight + w > maxBatchWeight) seal();
      open.push(item);
      openWeight += w;
      pendingWeight += w;
      if (open.length >= maxSize || openWeight >= maxBatchWeight) {
        seal();
      } else if (open.length === 1) {
        timer = setTimeout(onTimer, maxWaitMs);
      }
      return hasRoom();
    },
    get saturated(): boolean {
      return !hasRoom();
    },
    whenReady(): Promise<void> {
      if (hasRoom()) return Promise.resolve();
      ready ??= createDeferred();
      return ready.promise;
    },
    drain,
    async close(): Promise<void> {
      closed = true;
      await drain();
    },
    stats(): BatcherStats {
      const inFlight = queuedItems + flushingItems;
      return { buffered: open.length, inFlight, flushing, queued: queue.length, pending: open.length + inFlight, pendingWeight };
    },
  };
}
