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
});
