import type { JsMsg } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueConfig } from "./config.js";
import { connectQueue, type QueueConnection } from "./connect.js";
import { ensureConsumer } from "./consumer-setup.js";
import { createPublisher } from "./publisher.js";
import { createPullConsumer } from "./pull-consumer.js";
import { readQueueStats } from "./queue-stats.js";
import { ensureStream } from "./stream.js";
import { subjectFor } from "./subject.js";
import { deleteStream, natsUrl, uniqueQueueConfig } from "./testing/nats-test-env.js";

let q: QueueConnection;
const created: string[] = [];
const payload = new Uint8Array(100);

beforeAll(async () => {
  q = await connectQueue({ servers: natsUrl, name: "floodgate-queue-int-consumer" });
});

afterAll(async () => {
  for (const s of created) await deleteStream(q.jsm, s);
  await q.close();
});

async function queueWith(n: number, overrides: Partial<QueueConfig> = {}): Promise<QueueConfig> {
  const cfg = uniqueQueueConfig(overrides);
  created.push(cfg.stream);
  await ensureStream(q.jsm, cfg);
  await ensureConsumer(q.jsm, cfg);
  const pub = createPublisher(q, { timeoutMs: 10_000 });
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publish(subjectFor(cfg.subjectPrefix, "p", "t"), payload, `m${i}`)));
  return cfg;
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("createPullConsumer", () => {
  it("consumes and acks everything: the work queue drains", async () => {
    const n = 2_000;
    const cfg = await queueWith(n);
    const before = await readQueueStats(q.jsm, cfg.stream, cfg.consumer);
    expect(before).toMatchObject({ pending: n, ackPending: 0, depth: n, stored: n, redelivered: 0 });
    expect(before.oldestUnprocessedAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(before.oldestUnprocessedAgeSeconds).toBeLessThan(60);

    const c = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages: 100 });
    const seqs = new Set<number>();
    const t0 = performance.now();
    const done = c.consume((m) => {
      seqs.add(m.seq);
      m.ack();
    });
    await waitFor(() => seqs.size === n);
    const ms = performance.now() - t0;
    console.log(`consume+ack: ${n} msgs in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)} msgs/s`);
    expect(c.running).toBe(true);
    await c.stop();
    await done;
    expect(c.running).toBe(false);
    await q.nc.flush();
    const after = await readQueueStats(q.jsm, cfg.stream, cfg.consumer);
    expect(after).toEqual({ pending: 0, ackPending: 0, depth: 0, stored: 0, oldestUnprocessedAgeSeconds: 0, redelivered: 0 });
  });

  it("stop() hands the buffered messages to the handler; what was in flight comes back after ack_wait, nothing lost", async () => {
    const n = 500;
    const maxMessages = 100;
    const cfg = await queueWith(n, { ackWaitMs: 2_000 });
    const c = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages });
    const seen = new Set<number>();
    let afterStop = 0;
    let stopping: Promise<void> | undefined;
    const done = c.consume(async (m) => {
      seen.add(m.seq);
      if (stopping) afterStop++;
      m.ack();
      // The 26th message comes right after nats.js sent its first refill pull (at 75 % of 100
      // left), so that refill's 25 messages are often still on the wire when stop() unsubscribes.
      if (seen.size === 26) stopping = c.stop();
      // Slow handler so the pull buffer is full when stop() is called.
      await new Promise((r) => setTimeout(r, 1));
    });
    await done;
    await stopping;
    await q.nc.flush();
    expect(afterStop).toBeGreaterThan(0);
    // Buffered messages were handed over, not stranded. What the server was still sending for
    // refill pulls when stop() unsubscribed (0 or 25 on a quiet machine, 19 and 33 in loaded CI
    // runs) waits for ack_wait; nothing else is removed from the stream. (Acks are fire-and-forget:
    // the stream's count catches up with them shortly after the flush.)
    await waitFor(async () => (await readQueueStats(q.jsm, cfg.stream, cfg.consumer)).stored === n - seen.size);

    // A second consumer gets every other message: the rest at once, the in-flight ones after
    // ack_wait. (At least once: on a loaded machine an ack can arrive after the 2 s ack_wait and
    // its message come again.)
    const next = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages });
    const all = new Set(seen);
    const drained = next.consume((m) => {
      all.add(m.seq);
      m.ack();
    });
    await waitFor(() => all.size === n, 20_000);
    await next.stop();
    await drained;
    await q.nc.flush();
    await waitFor(async () => (await readQueueStats(q.jsm, cfg.stream, cfg.consumer)).depth === 0);
  });

  it("pauses pulling while the handler's promise is pending (backpressure)", async () => {
    const cfg = await queueWith(300);
    const c = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages: 20 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held: JsMsg[] = [];
    let handled = 0;
    const done = c.consume((m) => {
      handled++;
      held.push(m);
      return handled === 10 ? gate : undefined;
    });
    await waitFor(() => handled === 10);
    await new Promise((r) => setTimeout(r, 300));
    const paused = await readQueueStats(q.jsm, cfg.stream, cfg.consumer);
    expect(handled).toBe(10);
    // Delivered while blocked is bounded by the pull buffer, not the backlog.
    expect(paused.ackPending).toBeLessThanOrEqual(20 + 15);
    expect(paused.pending).toBeGreaterThanOrEqual(300 - 35);
    release();
    await waitFor(() => handled === 300);
    for (const m of held) m.ack();
    await c.stop();
    await done;
    await q.nc.flush();
    // Acks are fire-and-forget; the consumer's counters catch up shortly after the flush.
    await waitFor(async () => (await readQueueStats(q.jsm, cfg.stream, cfg.consumer)).depth === 0);
  });

  it("in a long hold, stops pulling and hands over the buffered messages instead of leaving them hidden", async () => {
    const cfg = await queueWith(300);
    const c = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages: 20, pauseAfterMs: 200 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held: JsMsg[] = [];
    let blocked = false;
    const done = c.consume((m) => {
      held.push(m);
      if (held.length === 10) blocked = true;
      return blocked ? gate : undefined;
    });
    await waitFor(() => held.length >= 10);
    await new Promise((r) => setTimeout(r, 600));
    const paused = await readQueueStats(q.jsm, cfg.stream, cfg.consumer);
    // Every message the server delivered reached the handler: none hides in the client's buffer,
    // so the worker can keep each one's ack timer alive (working()).
    expect(held.length).toBeGreaterThan(10);
    expect(paused.ackPending).toBe(held.length);
    expect(held.length).toBeLessThanOrEqual(10 + 20 + 15);
    const during = held.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(held.length).toBe(during); // paused: nothing more is pulled while the hold lasts
    blocked = false;
    release();
    await waitFor(() => held.length === 300);
    for (const m of held) m.ack();
    await c.stop();
    await done;
    await q.nc.flush();
    await waitFor(async () => (await readQueueStats(q.jsm, cfg.stream, cfg.consumer)).depth === 0);
    expect(new Set(held.map((m) => m.seq)).size).toBe(300); // nothing delivered twice
  });

  it("naks a message whose handler throws, so it is redelivered", async () => {
    const cfg = await queueWith(1);
    const c = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages: 10 });
    const deliveries: number[] = [];
    const done = c.consume((m) => {
      deliveries.push(m.info.deliveryCount);
      if (m.info.deliveryCount === 1) throw new Error("boom");
      m.ack();
    });
    await waitFor(() => deliveries.length === 2);
    await c.stop();
    await done;
    expect(deliveries).toEqual([1, 2]);
  });

  it("two consumers on one durable each get disjoint messages", async () => {
    const n = 1_000;
    const cfg = await queueWith(n);
    const a = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages: 50 });
    const b = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, maxMessages: 50 });
    const seenA: number[] = [];
    const seenB: number[] = [];
    const slowAck = (seen: number[]) => async (m: JsMsg) => {
      seen.push(m.seq);
      m.ack();
      if (seen.length % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    };
    const da = a.consume(slowAck(seenA));
    const db = b.consume(slowAck(seenB));
    await waitFor(() => seenA.length + seenB.length >= n);
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([da, db]);
    expect(seenA.length).toBeGreaterThan(0);
    expect(seenB.length).toBeGreaterThan(0);
    const setA = new Set(seenA);
    expect(seenB.filter((s) => setA.has(s))).toEqual([]);
    expect(new Set([...seenA, ...seenB]).size).toBe(n);
    expect(seenA.length + seenB.length).toBe(n);
  });
});
