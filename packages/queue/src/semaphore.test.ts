import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSemaphore } from "./semaphore.js";

describe("createSemaphore", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("hands permits to waiters in FIFO order and skips timed-out ones", async () => {
    const s = createSemaphore(1);
    expect(s.tryAcquire()).toBe(true);
    expect(s.tryAcquire()).toBe(false);
    const order: string[] = [];
    const a = s.acquire(100).then((ok) => order.push(`a:${ok}`));
    const b = s.acquire(1000).then((ok) => order.push(`b:${ok}`));
    const c = s.acquire(1000).then((ok) => order.push(`c:${ok}`));
    expect(s.waiting).toBe(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(order).toEqual(["a:false"]);
    s.release();
    await b;
    expect(order).toEqual(["a:false", "b:true"]);
    expect(s.inUse).toBe(1);
    s.release();
    await c;
    s.release();
    await a;
    expect(order).toEqual(["a:false", "b:true", "c:true"]);
    expect(s.inUse).toBe(0);
    expect(s.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
