import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, type QueueConnection } from "./connect.js";
import { consumerConfigFor, ensureConsumer } from "./consumer-setup.js";
import { deadLetterConfigFor, deadLetterStreamConfigFor, ensureDeadLetterStream } from "./dead-letter.js";
import { QueueFullError } from "./errors.js";
import { classifyPublishError } from "./publisher.js";
import { ensureStrandedSweep, strandedConfigFor, strandedStreamConfigFor, sweeperConsumerConfigFor } from "./stranded.js";
import { ensureStream, streamConfigFor } from "./stream.js";
import { deleteStream, natsUrl, uniqueQueueConfig } from "./testing/nats-test-env.js";

// Runs against every nats-server of the suite (vitest projects nats-<version>): what we send must
// be accepted as sent by 2.9.10 (which drops unknown fields silently) and by current servers
// (strict mode refuses unknown or invalid fields), and each version-gated workaround must match
// what the server really does.

let q: QueueConnection;
const created: string[] = [];

beforeAll(async () => {
  q = await connectQueue({ servers: natsUrl, name: "floodgate-queue-int-features" });
});

afterAll(async () => {
  for (const s of created) await deleteStream(q.jsm, s);
  await q.close();
});

describe("the configs we send", () => {
  it("knows the connected server's version", () => {
    expect(q.server.version).toBe(q.nc.info?.version);
    expect(q.server.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("the work stream, its consumer, the dead-letter stream, the stranded-advisory stream and its sweeper are stored exactly as sent", async () => {
    const cfg = uniqueQueueConfig();
    const dlq = deadLetterConfigFor(cfg);
    const stranded = strandedConfigFor(cfg);
    created.push(cfg.stream, dlq.stream, stranded.advisoryStream);
    const stream = await ensureStream(q.jsm, cfg, q.server);
    const consumer = await ensureConsumer(q.jsm, cfg);
    await ensureDeadLetterStream(q.jsm, dlq);
    await ensureStrandedSweep(q.jsm, stranded);

    expect(stream.config).toMatchObject(streamConfigFor(cfg, q.server));
    expect(consumer.config).toMatchObject(consumerConfigFor(cfg));
    expect((await q.jsm.streams.info(dlq.stream)).config).toMatchObject(deadLetterStreamConfigFor(dlq));
    expect((await q.jsm.streams.info(stranded.advisoryStream)).config).toMatchObject(strandedStreamConfigFor(stranded));
    expect((await q.jsm.consumers.info(stranded.advisoryStream, stranded.sweeper)).config).toMatchObject(sweeperConsumerConfigFor(stranded));
    expect(stream.config).toMatchObject({ retention: RetentionPolicy.Workqueue, storage: StorageType.File, discard: DiscardPolicy.New, discard_new_per_subject: true });
  });

  it("compresses the work stream with s2 where the server can (2.10+), switches it off on request, and sends nothing a 2.9 server would drop", async () => {
    const cfg = uniqueQueueConfig();
    created.push(cfg.stream);
    const s2 = await ensureStream(q.jsm, cfg, q.server);
    const none = await ensureStream(q.jsm, { ...cfg, compression: "none" }, q.server);
    if (q.server.compression) {
      expect(s2.config.compression).toBe("s2");
      expect(none.config.compression).toBe("none");
      expect(none.created).toBe(s2.created);
    } else {
      expect(streamConfigFor(cfg, q.server)).not.toHaveProperty("compression");
      expect(s2.config.compression).toBeUndefined();
    }
  });
});

describe("the byte-limit workaround (nats-server#4771)", () => {
  it("a publish that fits by payload but not by record is refused exactly where the profile says the limit is exact, and evicts the oldest message where it is not", async () => {
    const cfg = uniqueQueueConfig({ maxBytes: 2_000, maxMsgs: 1_000 });
    created.push(cfg.stream);
    await ensureStream(q.jsm, cfg, q.server);
    const subject = `${cfg.subjectPrefix}.p.t`;
    // No headers: the 2.9 check counts payload + headers, so the squeeze below is payload only.
    const publish = (size: number) =>
      q.js.publish(subject, new Uint8Array(size)).then(
        () => "stored" as const,
        (err: unknown) => (classifyPublishError(err) instanceof QueueFullError ? ("refused" as const) : Promise.reject(err as Error)),
      );
    // Fill with 100-byte payloads until the server refuses one.
    let n = 0;
    while ((await publish(100)) === "stored") n++;
    const before = (await q.jsm.streams.info(cfg.stream)).state;
    const free = cfg.maxBytes - before.bytes;
    expect(free).toBeGreaterThan(1);
    // A payload that fits in the free bytes, though its record (subject, overhead) does not.
    const squeezed = await publish(free - 1);
    const after = (await q.jsm.streams.info(cfg.stream)).state;
    if (q.server.exactByteLimit) {
      expect(squeezed).toBe("refused");
      expect(after.first_seq).toBe(1);
      expect(after.messages).toBe(n);
    } else {
      // The bug the capacity guard's headroom exists for: stored, and the oldest webhook evicted.
      expect(squeezed).toBe("stored");
      expect(after.first_seq).toBeGreaterThan(1);
      expect(after.last_seq).toBe(n + 1);
    }
  });
});
