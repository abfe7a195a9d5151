import type { JsMsg } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, type QueueConnection } from "./connect.js";
import { ensureConsumer } from "./consumer-setup.js";
import {
  countDeadLetters,
  deadLetter,
  deadLetterConfigFor,
  ensureDeadLetterStream,
  getDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  type DeadLetterConfig,
} from "./dead-letter.js";
import { ensureStream } from "./stream.js";
import { subjectFor } from "./subject.js";
import { deleteStream, natsUrl, uniqueQueueConfig } from "./testing/nats-test-env.js";
import type { QueueConfig } from "./config.js";

let q: QueueConnection;
let cfg: QueueConfig;
let dlq: DeadLetterConfig;

beforeAll(async () => {
  q = await connectQueue({ servers: natsUrl, name: "floodgate-queue-int-dlq" });
  cfg = uniqueQueueConfig();
  dlq = deadLetterConfigFor(cfg);
  await ensureStream(q.jsm, cfg);
  await ensureConsumer(q.jsm, cfg);
  await ensureDeadLetterStream(q.jsm, dlq);
  await ensureDeadLetterStream(q.jsm, dlq); // idempotent
});

afterAll(async () => {
  await deleteStream(q.jsm, cfg.stream);
  await deleteStream(q.jsm, dlq.stream);
  await q.close();
});

/** Publishes messages and takes them back off the work queue, unacked. */
async function publishAndTake(items: { provider: string; type: string; body: string; id: string }[]): Promise<JsMsg[]> {
  for (const it of items) await q.js.publish(subjectFor(cfg.subjectPrefix, it.provider, it.type), it.body, { msgID: it.id });
  const consumer = await q.js.consumers.get(cfg.stream, cfg.consumer);
  const out: JsMsg[] = [];
  const batch = await consumer.fetch({ max_messages: items.length, expires: 5000 });
  for await (const m of batch) out.push(m);
  return out;
}

const workQueueSize = async () => (await q.jsm.streams.info(cfg.stream)).state.messages;

describe("dead letters", () => {
  it("moves a message with its reason, error, attempts and original body, and removes it from the work queue", async () => {
    const [m] = await publishAndTake([{ provider: "telnyx", type: "message.finalized", body: "original-bytes", id: "telnyx:evt-1" }]);
    await deadLetter(q.js, dlq, m!, { reason: "apply_failed", error: "invalid byte sequence\nfor encoding" });
    expect(await countDeadLetters(q.jsm, dlq)).toBe(1);
    await new Promise((r) => setTimeout(r, 100)); // term is fire-and-forget
    expect(await workQueueSize()).toBe(0);

    const [d] = await listDeadLetters(q.jsm, dlq);
    expect(Buffer.from(d!.data).toString()).toBe("original-bytes");
    expect(d!.info).toMatchObject({
      reason: "apply_failed",
      error: "invalid byte sequence for encoding",
      attempts: 1,
      provider: "telnyx",
      type: "message_finalized",
      originalMsgId: "telnyx:evt-1",
      originalSubject: subjectFor(cfg.subjectPrefix, "telnyx", "message.finalized"),
    });
    expect(d!.info.deadAt).toBeGreaterThan(Date.now() - 10_000);
    expect(await getDeadLetter(q.jsm, dlq, d!.seq)).toEqual(d);
  });

  it("filters by provider, type, reason and time; replays idempotently; purges", async () => {
    await purgeDeadLetters(q.jsm, dlq, {});
    const msgs = await publishAndTake([
      { provider: "resend", type: "email.bounced", body: "a", id: "r:1" },
      { provider: "resend", type: "email.sent", body: "b", id: "r:2" },
      { provider: "telnyx", type: "message.sent", body: "c", id: "t:1" },
    ]);
    await deadLetter(q.js, dlq, msgs[0]!, { reason: "apply_failed", error: "x" });
    await deadLetter(q.js, dlq, msgs[1]!, { reason: "undecodable", error: "y" });
    await deadLetter(q.js, dlq, msgs[2]!, { reason: "apply_failed", error: "z" });

    expect((await listDeadLetters(q.jsm, dlq, { provider: "resend" })).map((d) => d.info.reason)).toEqual(["apply_failed", "undecodable"]);
    expect(await listDeadLetters(q.jsm, dlq, { type: "email.sent" })).toHaveLength(1);
    expect(await listDeadLetters(q.jsm, dlq, { reason: "apply_failed" })).toHaveLength(2);
    expect(await listDeadLetters(q.jsm, dlq, { since: Date.now() + 60_000 })).toHaveLength(0);
    expect(await listDeadLetters(q.jsm, dlq, {}, { limit: 2 })).toHaveLength(2);

    const undecodable = (await listDeadLetters(q.jsm, dlq, { reason: "undecodable" }))[0]!;
    await new Promise((r) => setTimeout(r, 100));
    const before = await workQueueSize();
    expect(await replayDeadLetter(q.js, q.jsm, dlq, undecodable.seq)).toBe("replayed");
    expect(await replayDeadLetter(q.js, q.jsm, dlq, undecodable.seq)).toBe("not_found");
    expect(await workQueueSize()).toBe(before + 1);
    expect(await countDeadLetters(q.jsm, dlq)).toBe(2);

    const replayed = await replayDeadLetters(q.js, q.jsm, dlq, { provider: "telnyx" });
    expect(replayed).toHaveLength(1);
    expect(await workQueueSize()).toBe(before + 2);

    expect(await purgeDeadLetters(q.jsm, dlq, { reason: "apply_failed" })).toBe(1);
    expect(await countDeadLetters(q.jsm, dlq)).toBe(0);
  });
});
