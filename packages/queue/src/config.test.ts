import { describe, expect, it } from "vitest";
import { defaultQueueConfig, queueConfigFromEnv, validateQueueConfig } from "./config.js";
import { QueueConfigError } from "./errors.js";

describe("queueConfigFromEnv", () => {
  it("returns the defaults for an empty environment", () => {
    expect(queueConfigFromEnv({})).toEqual(defaultQueueConfig);
    expect(validateQueueConfig(defaultQueueConfig)).toEqual([]);
  });

  it("reads names and replicas, ignoring blank values", () => {
    const cfg = queueConfigFromEnv({
      WEBHOOK_STREAM: "hooks",
      WEBHOOK_SUBJECT_PREFIX: "fg.in",
      WEBHOOK_CONSUMER: " ",
      WEBHOOK_STREAM_REPLICAS: "3",
    });
    expect(cfg).toMatchObject({ stream: "hooks", subjectPrefix: "fg.in", consumer: "webhook-workers", replicas: 3 });
  });

  it("reads the stream limits and consumer timings", () => {
    const cfg = queueConfigFromEnv({
      WEBHOOK_STREAM_MAX_BYTES: "2147483648",
      WEBHOOK_STREAM_MAX_AGE_MS: "3600000",
      WEBHOOK_DUPLICATE_WINDOW_MS: "120000",
      WEBHOOK_MAX_ACK_PENDING: "5000",
      WEBHOOK_ACK_WAIT_MS: "5000",
      WEBHOOK_MAX_DELIVER: "7",
    });
    expect(cfg).toMatchObject({ maxBytes: 2 ** 31, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000, maxAckPending: 5000, ackWaitMs: 5000, maxDeliver: 7 });
    expect(() => queueConfigFromEnv({ WEBHOOK_ACK_WAIT_MS: "0" })).toThrow(/WEBHOOK_ACK_WAIT_MS: ackWaitMs must be a positive integer/);
    expect(() => queueConfigFromEnv({ WEBHOOK_MAX_DELIVER: "-1" })).toThrow(/WEBHOOK_MAX_DELIVER: "-1" is not an integer/);
  });

  it("names every bad variable in one error", () => {
    let err: unknown;
    try {
      queueConfigFromEnv({ WEBHOOK_STREAM: "web.hooks", WEBHOOK_SUBJECT_PREFIX: "webhook.*", WEBHOOK_STREAM_REPLICAS: "three" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueueConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('WEBHOOK_STREAM: stream "web.hooks"');
    expect(msg).toContain('WEBHOOK_SUBJECT_PREFIX: subjectPrefix "webhook.*"');
    expect(msg).toContain('WEBHOOK_STREAM_REPLICAS: "three" is not an integer');
  });

  it("rejects empty prefix tokens and a dedup window longer than max age", () => {
    expect(validateQueueConfig({ ...defaultQueueConfig, subjectPrefix: "a..b" })).toHaveLength(1);
    expect(validateQueueConfig({ ...defaultQueueConfig, duplicateWindowMs: 2, maxAgeMs: 1 })[0]).toMatch(/duplicateWindowMs/);
    expect(validateQueueConfig({ ...defaultQueueConfig, maxAckPending: 0 })[0]).toMatch(/maxAckPending/);
  });

  it("reads the stream compression, s2 by default, and names the variable of a wrong one", () => {
    expect(defaultQueueConfig.compression).toBe("s2");
    expect(queueConfigFromEnv({ WEBHOOK_STREAM_COMPRESSION: "none" }).compression).toBe("none");
    expect(() => queueConfigFromEnv({ WEBHOOK_STREAM_COMPRESSION: "gzip" })).toThrow(/WEBHOOK_STREAM_COMPRESSION: compression must be one of s2, none, got gzip/);
  });
});
