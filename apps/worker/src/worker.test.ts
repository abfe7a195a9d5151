import { describe, expect, it } from "vitest";
import { checkRetryBudget, readWorkerEnv } from "./env.js";
import { pullBufferSize } from "./worker.js";

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

  it("reads the retry policy and refuses a short admin token", () => {
    expect(readWorkerEnv({ WEBHOOK_RETRY_ATTEMPTS: "5", WEBHOOK_RETRY_BASE_MS: "200" })).toMatchObject({ WEBHOOK_RETRY_ATTEMPTS: 5, WEBHOOK_RETRY_BASE_MS: 200 });
    expect(() => readWorkerEnv({ ADMIN_TOKEN: "short" })).toThrow(/ADMIN_TOKEN: must be at least 16 characters/);
    expect(readWorkerEnv({ ADMIN_TOKEN: "0123456789abcdef" }).ADMIN_TOKEN).toBe("0123456789abcdef");
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

  it("refuses a retry budget that would let the server give up on a failing message first", () => {
    expect(() => checkRetryBudget(3, 10)).not.toThrow();
    expect(() => checkRetryBudget(8, 10)).not.toThrow();
    expect(() => checkRetryBudget(9, 10)).toThrow(/WEBHOOK_RETRY_ATTEMPTS \(9\) must be at most WEBHOOK_MAX_DELIVER - 2 \(8\)/);
    expect(() => checkRetryBudget(10, 10)).toThrow(/raise WEBHOOK_MAX_DELIVER to at least 12/);
    expect(() => checkRetryBudget(12, 5)).toThrow(/WEBHOOK_MAX_DELIVER/);
  });

  it("binds its server to HOST", () => {
    expect(readWorkerEnv({}).HOST).toBe("0.0.0.0");
    expect(readWorkerEnv({ HOST: "127.0.0.1" }).HOST).toBe("127.0.0.1");
    expect(() => readWorkerEnv({ HOST: "not a host" })).toThrow(/HOST/);
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
