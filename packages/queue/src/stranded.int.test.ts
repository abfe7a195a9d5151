import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueConfig } from "./config.js";
import { connectQueue, type QueueConnection } from "./connect.js";
import { ensureConsumer } from "./consumer-setup.js";
import { deadLetterConfigFor, ensureDeadLetterStream, listDeadLetters, type DeadLetterConfig } from "./dead-letter.js";
import type { PullConsumer } from "./pull-consumer.js";
import { ensureStream } from "./stream.js";
import { ensureStrandedSweep, startStrandedSweeper, strandedConfigFor, type StrandedConfig } from "./stranded.js";
import { subjectFor } from "./subject.js";
import { deleteStream, natsUrl, uniqueQueueConfig } from "./testing/nats-test-env.js";

let q: QueueConnection;
let cfg: QueueConfig;
let dlq: DeadLetterConfig;
let stranded: StrandedConfig;
let sweeper: PullConsumer | undefined;

beforeAll(async () => {
  q = await connectQueue({ servers: natsUrl, name: "floodgate-queue-int-stranded" });
  cfg = uniqueQueueConfig({ maxDeliver: 2, ackWaitMs: 300 });
  dlq = deadLetterConfigFor(cfg);
  stranded = strandedConfigFor(cfg);
  await ensureStream(q.jsm, cfg);
  await ensureConsumer(q.jsm, cfg);
  await ensureDeadLetterStream(q.jsm, dlq);
  await ensureStrandedSweep(q.jsm, stranded);
  await ensureStrandedSweep(q.jsm, stranded); // idempotent
});

afterAll(async () => {
  await sweeper?.stop();
  for (const s of [cfg.stream, dlq.stream, stranded.advisoryStream]) await deleteStream(q.jsm, s);
  await q.close();
});

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const messagesIn = async (stream: string) => (await q.jsm.streams.info(stream)).state.messages;

describe("stranded messages (max_deliver reached)", () => {
  it("are moved to the dead letters and deleted from the work queue, even when no sweeper ran at the time", async () => {
    await q.js.publish(subjectFor(cfg.subjectPrefix, "telnyx", "message.finalized"), "stranded-bytes", { msgID: "telnyx:evt-stranded" });
    // A consumer that naks every delivery: after max_deliver (2) the server gives up on it.
    const consumer = await q.js.consumers.get(cfg.stream, cfg.consumer);
    for (let i = 0; i < 2; i++) {
      const m = await consumer.next({ expires: 5000 });
      expect(m?.info.deliveryCount).toBe(i + 1);
      m!.nak();
    }
    // Stranded: never delivered again (the server notices, and advises, on the next pull), still stored.
    expect(await consumer.next({ expires: 1000 })).toBeNull();
    await until("the advisory to be kept", async () => (await messagesIn(stranded.advisoryStream)) === 1);
    expect(await messagesIn(cfg.stream)).toBe(1);

    // A sweeper started later still finds it: the advisory waited in its stream.
    const recovered: number[] = [];
    sweeper = startStrandedSweeper(q, stranded, dlq, { onRecovered: (seq) => recovered.push(seq) });
    await until("the stranded message to be moved", async () => (await messagesIn(cfg.stream)) === 0);
    const letters = await listDeadLetters(q.jsm, dlq);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.info).toMatchObject({ reason: "max_deliveries", attempts: 2, provider: "telnyx", originalMsgId: "telnyx:evt-stranded" });
    expect(Buffer.from(letters[0]!.data).toString()).toBe("stranded-bytes");
    expect(recovered).toHaveLength(1);
    await until("the advisory to be acked", async () => (await messagesIn(stranded.advisoryStream)) === 0);
  });

  it("keeps the stranded message while the dead-letter stream refuses it, and moves it once it accepts", async () => {
    const before = (await listDeadLetters(q.jsm, dlq)).length;
    const info = await q.jsm.streams.info(dlq.stream);
    await q.jsm.streams.update(dlq.stream, { ...info.config, max_msgs: before });
    try {
      await q.js.publish(subjectFor(cfg.subjectPrefix, "resend", "email.bounced"), "second", { msgID: "resend:evt-2" });
      const consumer = await q.js.consumers.get(cfg.stream, cfg.consumer);
      for (let i = 0; i < 2; i++) (await consumer.next({ expires: 5000 }))!.nak();
      expect(await consumer.next({ expires: 1000 })).toBeNull();
      await new Promise((r) => setTimeout(r, 1500));
      expect(await messagesIn(cfg.stream)).toBe(1); // refused by the dead letters: kept, not deleted
    } finally {
      await q.jsm.streams.update(dlq.stream, { ...info.config, max_msgs: -1 });
    }
    await until("the stranded message to be moved", async () => (await messagesIn(cfg.stream)) === 0, 20_000);
    expect((await listDeadLetters(q.jsm, dlq)).map((d) => d.info.originalMsgId)).toContain("resend:evt-2");
  });
});
