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
  keepRawDeadLetter,
  workSubjectPrefixOf,
  type DeadLetter,
  type DeadLetterConfig,
  type RawReplay,
} from "./dead-letter.js";
import { DeadLetterReplayError } from "./errors.js";
import { createPublisher, messageByteLimit } from "./publisher.js";
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
    expect(replayed.replayed).toHaveLength(1);
    expect(await workQueueSize()).toBe(before + 2);

    expect(await purgeDeadLetters(q.jsm, dlq, { reason: "apply_failed" })).toBe(1);
    expect(await countDeadLetters(q.jsm, dlq)).toBe(0);
  });

  it("keeps a verified body raw, with its delivery id and content type, and replays it through the current plugins", async () => {
    await purgeDeadLetters(q.jsm, dlq, {});
    const publisher = createPublisher(q);
    const body = (type: string) => Buffer.from(JSON.stringify({ type, to: "a@b.test" }));
    const keep = (type: string) =>
      keepRawDeadLetter(publisher, dlq, { provider: "resend", reason: "unsupported_event", detail: `event type ${type}`, body: body(type), deliveryId: `msg_${type}`, contentType: "application/json", verifiedBy: "standard-webhooks", subjectPrefix: cfg.subjectPrefix });
    await keep("email.teleported");
    await keep("email.teleported"); // a provider retry: the same body is kept once
    await keep("email.vanished");
    const letters = await listDeadLetters(q.jsm, dlq, { provider: "resend" });
    expect(letters).toHaveLength(2);
    expect(letters[0]!.info).toMatchObject({
      kind: "raw",
      reason: "unsupported_event",
      error: "event type email.teleported",
      attempts: 0,
      provider: "resend",
      type: "unmapped",
      originalMsgId: "resend:msg_email.teleported",
      raw: { verifiedBy: "standard-webhooks", deliveryId: "msg_email.teleported", contentType: "application/json" },
    });
    expect(Buffer.from(letters[0]!.data).toString()).toBe(body("email.teleported").toString());

    // Without the plugins a raw letter cannot be replayed; it stays.
    await expect(replayDeadLetter(q.js, q.jsm, dlq, letters[0]!.seq)).rejects.toBeInstanceOf(DeadLetterReplayError);
    expect(await countDeadLetters(q.jsm, dlq)).toBe(2);

    // "Upgraded" plugins know email.teleported, not email.vanished.
    const seen: { deliveryId?: string }[] = [];
    const resolveRaw = (d: DeadLetter): RawReplay => {
      seen.push({ deliveryId: d.info.raw?.deliveryId });
      const { type } = JSON.parse(Buffer.from(d.data).toString()) as { type: string };
      if (type === "email.teleported") return { messages: [{ subject: subjectFor(workSubjectPrefixOf(d.info), d.info.provider, type), data: Buffer.from("events") }], unmapped: [] };
      return { messages: [], unmapped: [{ reason: "unsupported_event", detail: `still no mapping for ${type}`, body: d.data }] };
    };
    await new Promise((r) => setTimeout(r, 100));
    const before = await workQueueSize();
    const result = await replayDeadLetters(q.js, q.jsm, dlq, {}, { resolveRaw });
    expect(result).toEqual({ replayed: [letters[0]!.seq], stillUnmapped: [letters[1]!.seq] });
    expect(seen.map((s) => s.deliveryId)).toEqual(["msg_email.teleported", "msg_email.vanished"]);
    expect(await workQueueSize()).toBe(before + 1);
    const work = await q.jsm.streams.getMessage(cfg.stream, { last_by_subj: subjectFor(cfg.subjectPrefix, "resend", "email.teleported") });
    expect(Buffer.from(work!.data).toString()).toBe("events");

    // The one still unmapped stays a dead letter, with the new error and one more attempt.
    const [again] = await listDeadLetters(q.jsm, dlq);
    expect(await countDeadLetters(q.jsm, dlq)).toBe(1);
    expect(again!.seq).toBeGreaterThan(letters[1]!.seq);
    expect(again!.info).toMatchObject({ kind: "raw", reason: "unsupported_event", error: "still no mapping for email.vanished", attempts: 1, raw: { deliveryId: "msg_email.vanished" } });
    expect(Buffer.from(again!.data).toString()).toBe(body("email.vanished").toString());
    await purgeDeadLetters(q.jsm, dlq, {});
  });

  it("keeps a raw body as large as a message may be, with its headers, below the server's max_payload", async () => {
    await purgeDeadLetters(q.jsm, dlq, {});
    const body = Buffer.alloc(messageByteLimit(q.nc), 0x61);
    const detail = "é".repeat(2000); // the longest detail a plugin could give, multi-byte
    await keepRawDeadLetter(createPublisher(q), dlq, { provider: "resend", reason: "malformed", detail, body, deliveryId: `msg_${"x".repeat(60)}`, contentType: "application/json; charset=utf-8", verifiedBy: "standard-webhooks", subjectPrefix: cfg.subjectPrefix });
    const [kept] = await listDeadLetters(q.jsm, dlq);
    expect(kept!.data.byteLength).toBe(body.byteLength);
    expect(kept!.info.error.length).toBeLessThan(detail.length);
    await purgeDeadLetters(q.jsm, dlq, {});
  });

  it("replay-all replays only the letters that exist when it starts: those that fail again and come back wait", async () => {
    await purgeDeadLetters(q.jsm, dlq, {});
    const msgs = await publishAndTake([
      { provider: "telnyx", type: "message.sent", body: "1", id: "loop:1" },
      { provider: "telnyx", type: "message.sent", body: "2", id: "loop:2" },
      { provider: "telnyx", type: "message.sent", body: "3", id: "loop:3" },
    ]);
    for (const m of msgs) await deadLetter(q.js, dlq, m, { reason: "apply_failed", error: "still broken" });
    const consumer = await q.js.consumers.get(cfg.stream, cfg.consumer);
    // A worker that fails every replayed message again at once: it is dead-lettered anew
    // before replay-all reads its next page.
    let publishes = 0;
    const failingAgain = {
      async publish(subject: string, data: Uint8Array, opts: Parameters<typeof q.js.publish>[2]) {
        if (++publishes > 20) throw new Error("replay-all is replaying its own new dead letters in a loop");
        const ack = await q.js.publish(subject, data, opts);
        const m = await consumer.next({ expires: 5000 });
        if (m) await deadLetter(q.js, dlq, m, { reason: "apply_failed", error: "failed again" });
        return ack;
      },
    } as unknown as typeof q.js;
    const result = await replayDeadLetters(failingAgain, q.jsm, dlq);
    expect(result.replayed).toHaveLength(3);
    expect(publishes).toBe(3);
    const now = await listDeadLetters(q.jsm, dlq);
    expect(now.map((d) => d.info.error)).toEqual(["failed again", "failed again", "failed again"]);
    await purgeDeadLetters(q.jsm, dlq, {});
  });
});
