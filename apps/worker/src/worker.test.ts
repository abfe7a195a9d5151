import { describe, expect, it } from "vitest";
import { readWorkerEnv } from "./env.js";
import { pullBufferSize, retryDelay, RETRY_DELAYS_MS } from "./worker.js";

describe("worker configuration", () => {
  it("defaults to the design's batching on this machine's services", () => {
    const env = readWorkerEnv({});
    expect(env).toMatchObject({
      NATS_URL: "nats://127.0.0.1:4222",
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/floodgate",
      WEBHOOK_BATCH_SIZE: 100,
      WEBHOOK_FLUSH_INTERVAL: 1000,
      WEBHOOK_MAX_WORKERS: 10,
      WORKER_MAX_UNACKED: 1000,
      LEDGER_RETENTION_HOURS: 48,
    });
  });

  it("names each mistake", () => {
    let message = "";
    try {
      readWorkerEnv({ WEBHOOK_BATCH_SIZE: "0", DATABASE_URL: "mysql://x", LEDGER_RETENTION_HOURS: "24" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('WEBHOOK_BATCH_SIZE: expected an integer from 1 to 10000, got "0"');
    expect(message).toContain("DATABASE_URL: expected a URL starting with postgresql:// or postgres://");
    expect(message).toContain('LEDGER_RETENTION_HOURS: expected an integer from 29 to 8760, got "24"');
  });

  it("keeps pull buffer plus batcher within WORKER_MAX_UNACKED", () => {
    for (const [size, max] of [[100, 1000], [1000, 1000], [5, 8], [100, 2]] as const) {
      const buffer = pullBufferSize({ WEBHOOK_BATCH_SIZE: size, WORKER_MAX_UNACKED: max });
      expect(buffer).toBeGreaterThanOrEqual(1);
      expect(buffer).toBeLessThan(max);
    }
    expect(pullBufferSize({ WEBHOOK_BATCH_SIZE: 100, WORKER_MAX_UNACKED: 1000 })).toBe(100);
  });
});

describe("retryDelay", () => {
  it("grows with the delivery count and then stays at the last step", () => {
    expect(retryDelay(1)).toBe(RETRY_DELAYS_MS[0]);
    expect(retryDelay(2)).toBe(RETRY_DELAYS_MS[1]);
    expect(retryDelay(99)).toBe(RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1]);
    expect(retryDelay(0)).toBe(RETRY_DELAYS_MS[0]);
  });
});
