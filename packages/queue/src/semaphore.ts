interface Waiter {
  resolve: (acquired: boolean) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

/**
 * A counting semaphore whose waiters give up after a timeout. Acquiring a free permit is
 * synchronous and allocation-free; only callers that must wait get a promise and a timer.
 * Permits are handed to waiters in FIFO order.
 */
export interface Semaphore {
  /** Takes a permit if one is free right now. */
  tryAcquire(): boolean;
  /** Waits up to `timeoutMs` for a permit; resolves false on timeout (no permit taken). */
  acquire(timeoutMs: number): Promise<boolean>;
  release(): void;
  readonly inUse: number;
  readonly waiting: number;
}

export function createSemaphore(permits: number): Semaphore {
  let inUse = 0;
  let waiting = 0;
  // Timed-out waiters are marked done and skipped on release instead of being spliced out.
  const waiters: Waiter[] = [];

  return {
    tryAcquire() {
      if (inUse < permits) {
        inUse++;
        return true;
      }
      return false;
    },
    acquire(timeoutMs) {
      if (inUse < permits) {
        inUse++;
        return Promise.resolve(true);
      }
      if (timeoutMs <= 0) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const w: Waiter = { resolve, timer: undefined, done: false };
        w.timer = setTimeout(() => {
          w.done = true;
          waiting--;
          resolve(false);
        }, timeoutMs);
        waiters.push(w);
        waiting++;
      });
    },
    release() {
      while (waiters.length > 0) {
        const w = waiters.shift()!;
        if (w.done) continue;
        // The permit passes straight to the waiter: inUse stays the same.
        w.done = true;
        waiting--;
        clearTimeout(w.timer);
        w.resolve(true);
        return;
      }
      inUse--;
    },
    get inUse() {
      return inUse;
    },
    get waiting() {
      return waiting;
    },
  };
}
