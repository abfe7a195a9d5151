import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBatcher, type BatcherOptions } from "./batcher.js";
import { BatcherClosedError, BatcherConfigError, BatcherFlushError } from "./errors.js";

interface Call {
  items: number[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A flush whose calls are recorded and settled by the test. */
function controlledFlush() {
  const calls: Call[] = [];
  const flush = vi.fn((items: number[]) => {
    return new Promise<void>((resolve, reject) => {
      calls.push({ items, resolve, reject });
    });
  });
  return { calls, flush };
}

function make(overrides: Partial<BatcherOptions<number>> = {}) {
  const ctl = controlledFlush();
  const batcher = createBatcher<number>({
    maxSize: 3,
    maxWaitMs: 1000,
    maxConcurrentFlushes: 2,
    maxPending: 10,
    flush: ctl.flush,
    ...overrides,
  });
  return { ...ctl, batcher };
}

/** Lets promise callbacks (flush settlement) run. */
const tick = () => vi.advanceTimersByTimeAsync(0);

describe("createBatcher", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("flushes when a batch reaches maxSize, without waiting for the timer", () => {
    const { batcher, calls } = make();
    batcher.add(1);
    batcher.add(2);
    expect(calls).toHaveLength(0);
    batcher.add(3);
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    expect(batcher.stats()).toEqual({ buffered: 0, inFlight: 3, flushing: 1, queued: 0, pending: 3, pendingWeight: 3 });
  });

  it("flushes a partial batch maxWaitMs after its first item", () => {
    const { batcher, calls } = make();
    batcher.add(1);
    vi.advanceTimersByTime(600);
    batcher.add(2);
    vi.advanceTimersByTime(399);
    expect(calls).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(calls.map((c) => c.items)).toEqual([[1, 2]]);
    // The timer belongs to that batch: the next batch's clock starts at its own first item.
    batcher.add(3);
    vi.advanceTimersByTime(999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3]]);
  });

  it("a size-triggered flush cancels the batch timer", () => {
    const { batcher, calls } = make();
    batcher.add(1);
    batcher.add(2);
    batcher.add(3);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(calls).toHaveLength(1);
  });

  it("never flushes an empty batch", async () => {
    const { batcher, flush } = make();
    vi.advanceTimersByTime(10_000);
    await batcher.drain();
    expect(flush).not.toHaveBeenCalled();
    batcher.add(1);
    batcher.add(2);
    batcher.add(3); // size flush
    vi.advanceTimersByTime(10_000);
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it("runs at most maxConcurrentFlushes at once and starts waiting batches in order", async () => {
    const { batcher, calls } = make({ maxSize: 2, maxConcurrentFlushes: 2, maxPending: 100 });
    for (let i = 1; i <= 8; i++) batcher.add(i);
    expect(calls.map((c) => c.items)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(batcher.stats()).toMatchObject({ flushing: 2, queued: 2, inFlight: 8, buffered: 0 });
    calls[1]!.resolve();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    calls[0]!.resolve();
    await tick();
    expect(calls[3]!.items).toEqual([7, 8]);
    expect(batcher.stats()).toMatchObject({ flushing: 2, queued: 0, inFlight: 4 });
  });

  it("preserves add order within and across batches", async () => {
    const seen: number[][] = [];
    const batcher = createBatcher<number>({
      maxSize: 4,
      maxWaitMs: 50,
      maxConcurrentFlushes: 1,
      maxPending: 1000,
      flush: async (items) => {
        seen.push(items);
      },
    });
    for (let i = 0; i < 10; i++) batcher.add(i);
    await batcher.drain();
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it("reports saturation at maxPending and resumes when a flush frees capacity", async () => {
    const { batcher, calls } = make({ maxSize: 2, maxConcurrentFlushes: 1, maxPending: 5 });
    const accepted = [1, 2, 3, 4].map((i) => batcher.add(i));
    expect(accepted).toEqual([true, true, true, true]);
    expect(batcher.add(5)).toBe(false);
    expect(batcher.saturated).toBe(true);

    let resumed = false;
    const ready = batcher.whenReady().then(() => {
      resumed = true;
    });
    await tick();
    expect(resumed).toBe(false);

    calls[0]!.resolve(); // frees [1, 2]: pending 3 < 5
    await ready;
    expect(resumed).toBe(true);
    expect(batcher.saturated).toBe(false);
    expect(batcher.stats().pending).toBe(3);
  });

  it("whenReady resolves immediately when not saturated", async () => {
    const { batcher } = make();
    batcher.add(1);
    let done = false;
    void batcher.whenReady().then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(true);
  });

  it("a consumer that awaits whenReady never holds more than maxPending", async () => {
    const { batcher, calls } = make({ maxSize: 10, maxConcurrentFlushes: 2, maxPending: 25 });
    let maxSeen = 0;
    const producer = (async () => {
      for (let i = 0; i < 200; i++) {
        if (!batcher.add(i)) await batcher.whenReady();
        maxSeen = Math.max(maxSeen, batcher.stats().pending);
      }
    })();
    let settled = 0;
    while (settled < 20) {
      await tick();
      const next = calls[settled];
      if (next) {
        next.resolve();
        settled++;
      } else {
        await vi.advanceTimersByTimeAsync(1000);
      }
    }
    await producer;
    expect(maxSeen).toBeLessThanOrEqual(25);
    expect(calls.flatMap((c) => c.items)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("drain flushes the partial batch and waits for in-flight flushes", async () => {
    const { batcher, calls } = make({ maxSize: 3 });
    for (let i = 1; i <= 5; i++) batcher.add(i);
    let drained = false;
    const d = batcher.drain().then(() => {
      drained = true;
    });
    expect(calls.map((c) => c.items)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(vi.getTimerCount()).toBe(0);
    calls[0]!.resolve();
    await tick();
    expect(drained).toBe(false);
    calls[1]!.resolve();
    await d;
    expect(drained).toBe(true);
    expect(batcher.stats()).toEqual({ buffered: 0, inFlight: 0, flushing: 0, queued: 0, pending: 0, pendingWeight: 0 });
  });

  it("close flushes what is left and then refuses new items", async () => {
    const flushed: number[][] = [];
    const batcher = createBatcher<number>({
      maxSize: 100,
      maxWaitMs: 1000,
      maxConcurrentFlushes: 1,
      maxPending: 1000,
      flush: async (items) => {
        flushed.push(items);
      },
    });
    batcher.add(1);
    batcher.add(2);
    await batcher.close();
    expect(flushed).toEqual([[1, 2]]);
    expect(() => batcher.add(3)).toThrow(BatcherClosedError);
  });

  it("hands a failed batch to onFlushError and frees its capacity", async () => {
    const onFlushError = vi.fn();
    const { batcher, calls } = make({ maxSize: 2, maxPending: 4, onFlushError });
    batcher.add(1);
    batcher.add(2);
    batcher.add(3);
    expect(batcher.add(4)).toBe(false);
    const boom = new Error("db down");
    calls[0]!.reject(boom);
    await tick();
    expect(onFlushError).toHaveBeenCalledWith(boom, [1, 2]);
    expect(batcher.saturated).toBe(false);
    expect(batcher.stats().pending).toBe(2);
    calls[1]!.resolve();
    await batcher.drain(); // handled errors do not make drain reject
  });

  it("treats a synchronously throwing flush like a rejected one", async () => {
    const onFlushError = vi.fn();
    const batcher = createBatcher<number>({
      maxSize: 1,
      maxWaitMs: 10,
      maxConcurrentFlushes: 1,
      maxPending: 10,
      flush: () => {
        throw new Error("sync");
      },
      onFlushError,
    });
    batcher.add(7);
    await batcher.drain();
    expect(onFlushError).toHaveBeenCalledTimes(1);
    expect(onFlushError.mock.calls[0]![1]).toEqual([7]);
    expect(batcher.stats().pending).toBe(0);
  });

  it("without onFlushError, drain rejects with every failure", async () => {
    const { batcher, calls } = make({ maxSize: 2 });
    batcher.add(1);
    batcher.add(2);
    batcher.add(3);
    const d = batcher.drain();
    calls[0]!.reject(new Error("a"));
    calls[1]!.reject(new Error("b"));
    const err = await d.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatcherFlushError);
    expect((err as BatcherFlushError).errors).toHaveLength(2);
    expect((err as BatcherFlushError).failedItems).toBe(3);
    // Reported once: the next drain is clean.
    await batcher.drain();
  });

  it("rejects invalid options", () => {
    const flush = async () => {};
    expect(() => createBatcher({ maxSize: 0, maxWaitMs: 1, maxConcurrentFlushes: 1, maxPending: 1, flush })).toThrow(
      BatcherConfigError,
    );
    expect(() => createBatcher({ maxSize: 1, maxWaitMs: -1, maxConcurrentFlushes: 1, maxPending: 1, flush })).toThrow(
      /maxWaitMs/,
    );
  });

  describe("weights", () => {
    it("seals a batch before it would pass maxBatchWeight, and saturates on maxPendingWeight", async () => {
      const batches: number[][] = [];
      const releases: (() => void)[] = [];
      const batcher = createBatcher<number>({
        maxSize: 100,
        maxWaitMs: 1000,
        maxConcurrentFlushes: 10,
        maxPending: 1000,
        weigh: (n) => n,
        maxBatchWeight: 10,
        maxPendingWeight: 25,
        flush: (items) => {
          batches.push(items);
          return new Promise<void>((r) => releases.push(r));
        },
      });
      expect(batcher.add(4)).toBe(true);
      expect(batcher.add(5)).toBe(true); // 9
      expect(batcher.add(3)).toBe(true); // would be 12: [4, 5] sealed first
      expect(batches).toEqual([[4, 5]]);
      expect(batcher.add(12)).toBe(true); // [3] sealed first; 12 alone is over the batch weight: sealed by itself
      expect(batches).toEqual([[4, 5], [3], [12]]);
      expect(batcher.stats().pendingWeight).toBe(24);
      expect(batcher.add(1)).toBe(false); // 25 >= maxPendingWeight
      expect(batcher.saturated).toBe(true);
      const ready = batcher.whenReady();
      releases[0]!(); // frees 9
      await ready;
      expect(batcher.saturated).toBe(false);
      expect(batcher.stats().pendingWeight).toBe(16);
      for (const r of releases) r();
      const drained = batcher.drain();
      await vi.advanceTimersByTimeAsync(0);
      for (const r of releases) r();
      await drained;
      expect(batcher.stats().pendingWeight).toBe(0);
    });
  });
});
