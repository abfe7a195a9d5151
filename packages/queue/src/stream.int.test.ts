import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, type QueueConnection } from "./connect.js";
import { ensureConsumer } from "./consumer-setup.js";
import { QueueConfigError } from "./errors.js";
import { ensureStream } from "./stream.js";
import { deleteStream, natsUrl, uniqueQueueConfig } from "./testing/nats-test-env.js";

let q: QueueConnection;
const created: string[] = [];

beforeAll(async () => {
  q = await connectQueue({ servers: natsUrl, name: "floodgate-queue-int-stream" });
});

afterAll(async () => {
  for (const s of created) await deleteStream(q.jsm, s);
  await q.close();
});

describe("ensureStream", () => {
  it("creates the work-queue stream with discard=new per subject, and is idempotent", async () => {
    const cfg = uniqueQueueConfig();
    created.push(cfg.stream);
    const first = await ensureStream(q.jsm, cfg);
    expect(first.config).toMatchObject({
      name: cfg.stream,
      subjects: [`${cfg.subjectPrefix}.*.*`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
      max_msgs_per_subject: cfg.maxMsgsPerSubject,
      max_bytes: cfg.maxBytes,
      duplicate_window: 60_000 * 1e6,
      max_age: 24 * 3600_000 * 1e6,
      num_replicas: 1,
    });
    const again = await ensureStream(q.jsm, cfg);
    expect(again.created).toBe(first.created);
  });

  it("updates an existing stream in place when the config changes", async () => {
    const cfg = uniqueQueueConfig();
    created.push(cfg.stream);
    const first = await ensureStream(q.jsm, cfg);
    await q.js.publish(`${cfg.subjectPrefix}.p.t`, "kept");
    const updated = await ensureStream(q.jsm, { ...cfg, maxBytes: cfg.maxBytes * 2, maxMsgsPerSubject: 1234 });
    expect(updated.created).toBe(first.created);
    expect(updated.config.max_bytes).toBe(cfg.maxBytes * 2);
    expect(updated.config.max_msgs_per_subject).toBe(1234);
    expect(updated.state.messages).toBe(1);
  });

  it("refuses a same-named stream that cannot be updated (limits retention, discard=old)", async () => {
    const cfg = uniqueQueueConfig();
    created.push(cfg.stream);
    await q.jsm.streams.add({ name: cfg.stream, subjects: [`${cfg.subjectPrefix}.*.*`], storage: StorageType.File });
    await expect(ensureStream(q.jsm, cfg)).rejects.toBeInstanceOf(QueueConfigError);
    const info = await q.jsm.streams.info(cfg.stream);
    expect(info.config.retention).toBe(RetentionPolicy.Limits);
  });
});

describe("ensureConsumer", () => {
  it("creates the durable pull consumer and updates it on a changed config", async () => {
    const cfg = uniqueQueueConfig();
    created.push(cfg.stream);
    await ensureStream(q.jsm, cfg);
    const ci = await ensureConsumer(q.jsm, cfg);
    expect(ci.config).toMatchObject({
      durable_name: cfg.consumer,
      ack_policy: "explicit",
      deliver_policy: "all",
      ack_wait: 30_000 * 1e6,
      max_deliver: 10,
      max_ack_pending: 20_000,
    });
    expect(ci.config.deliver_subject).toBeUndefined();
    const same = await ensureConsumer(q.jsm, cfg);
    expect(same.created).toBe(ci.created);
    const changed = await ensureConsumer(q.jsm, { ...cfg, maxAckPending: 5_000, ackWaitMs: 10_000 });
    expect(changed.config.max_ack_pending).toBe(5_000);
    expect(changed.config.ack_wait).toBe(10_000 * 1e6);
    expect(changed.created).toBe(ci.created);
  });
});
