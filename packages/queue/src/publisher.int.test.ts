import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, type QueueConnection } from "./connect.js";
import { QueueFullError, QueueMessageTooLargeError, QueueUnavailableError } from "./errors.js";
import { createPublisher, HEADER_RESERVE_BYTES, messageByteLimit } from "./publisher.js";
import { ensureStream } from "./stream.js";
import { subjectFor } from "./subject.js";
import { deleteStream, natsUrl, startNatsServer, uniqueQueueConfig, type TestNatsServer } from "./testing/nats-test-env.js";

let q: QueueConnection;
const created: string[] = [];
const payload = new Uint8Array(100).fill(65);

beforeAll(async () => {
  q = await connectQueue({ servers: natsUrl, name: "floodgate-queue-int-publisher" });
});

afterAll(async () => {
  for (const s of created) await deleteStream(q.jsm, s);
  await q.close();
});

async function freshStream(overrides: Parameters<typeof uniqueQueueConfig>[0] = {}) {
  const cfg = uniqueQueueConfig(overrides);
  created.push(cfg.stream);
  await ensureStream(q.jsm, cfg);
  return cfg;
}

describe("createPublisher against a real server", () => {
  it("reads the message limit from the server's max_payload and refuses a larger message before sending it", async () => {
    const cfg = await freshStream();
    const pub = createPublisher(q);
    const limit = messageByteLimit(q.nc);
    expect(limit).toBe(q.nc.info!.max_payload - HEADER_RESERVE_BYTES);
    const subject = subjectFor(cfg.subjectPrefix, "resend", "email.sent");
    const err = await pub.publish(subject, new Uint8Array(limit + 1), "big").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueMessageTooLargeError);
    expect(err).toMatchObject({ bytes: limit + 1, limit });
    await expect(pub.publish(subject, new Uint8Array(limit), "just-fits")).resolves.toMatchObject({ duplicate: false });
    expect((await q.jsm.streams.info(cfg.stream)).state.messages).toBe(1);
  });

  it("dedups on msgId: the repeat is acked as duplicate with the original seq", async () => {
    const cfg = await freshStream();
    const pub = createPublisher(q);
    const subject = subjectFor(cfg.subjectPrefix, "telnyx", "call.initiated");
    const a = await pub.publish(subject, payload, "evt-1");
    const b = await pub.publish(subject, payload, "evt-2");
    const again = await pub.publish(subject, payload, "evt-1");
    expect(a).toMatchObject({ seq: 1, duplicate: false });
    expect(b).toMatchObject({ seq: 2, duplicate: false });
    expect(again).toMatchObject({ seq: 1, duplicate: true });
    expect((await q.jsm.streams.info(cfg.stream)).state.messages).toBe(2);
  });

  it("refuses publishes with QueueFullError when max_msgs_per_subject is reached, keeping earlier messages", async () => {
    const cfg = await freshStream({ maxMsgsPerSubject: 3 });
    const pub = createPublisher(q);
    const subject = subjectFor(cfg.subjectPrefix, "resend", "email.sent");
    for (let i = 0; i < 3; i++) await pub.publish(subject, payload, `m${i}`);
    const err = await pub.publish(subject, payload, "m3").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).reason).toBe("max_msgs_per_subject");
    // Another subject still has room: the limit is per provider/type.
    await expect(pub.publish(subjectFor(cfg.subjectPrefix, "resend", "email.bounced"), payload, "o1")).resolves.toMatchObject({
      duplicate: false,
    });
    const first = await q.jsm.streams.getMessage(cfg.stream, { seq: 1 });
    expect(first?.header.get("Nats-Msg-Id")).toBe("m0");
    expect((await q.jsm.streams.info(cfg.stream)).state.messages).toBe(4);
  });

  it("refuses publishes with QueueFullError when max_bytes is reached", async () => {
    const cfg = await freshStream({ maxBytes: 1000 });
    const pub = createPublisher(q);
    const subject = subjectFor(cfg.subjectPrefix, "p", "t");
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => pub.publish(subject, payload, `b${i}`)));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const full = results.filter((r) => r.status === "rejected" && r.reason instanceof QueueFullError);
    expect(ok).toBeGreaterThan(0);
    expect(full.length).toBe(10 - ok);
    expect(((full[0] as PromiseRejectedResult).reason as QueueFullError).reason).toBe("max_bytes");
    expect((await q.jsm.streams.info(cfg.stream)).state.messages).toBe(ok);
  });

  it("fails with QueueUnavailableError(no_responders) when no stream takes the subject", async () => {
    const pub = createPublisher(q);
    const err = await pub.publish("fg_test_nostream.a.b", payload, "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueUnavailableError);
    expect((err as QueueUnavailableError).reason).toBe("no_responders");
  });

  it("acks 5,000 concurrent publishes with 256 in flight", async () => {
    const cfg = await freshStream();
    const pub = createPublisher(q, { maxInFlight: 256, timeoutMs: 10_000 });
    const n = 5_000;
    let maxInFlight = 0;
    let maxWaiting = 0;
    const t0 = performance.now();
    const acks = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const p = pub.publish(subjectFor(cfg.subjectPrefix, `p${i % 4}`, "evt"), payload, `id-${i}`);
        maxInFlight = Math.max(maxInFlight, pub.inFlight);
        maxWaiting = Math.max(maxWaiting, pub.waiting);
        return p;
      }),
    );
    const ms = performance.now() - t0;
    console.log(`publish: ${n} msgs in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)} msgs/s (256 in flight)`);
    expect(maxInFlight).toBe(256);
    expect(maxWaiting).toBe(n - 256);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(n);
    expect(acks.every((a) => !a.duplicate)).toBe(true);
    expect(pub.inFlight).toBe(0);
    expect((await q.jsm.streams.info(cfg.stream)).state.messages).toBe(n);
  });
});

describe("createPublisher when the server goes away", () => {
  let server: TestNatsServer;
  let conn: QueueConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    conn = await connectQueue({
      servers: server.url,
      name: "floodgate-queue-int-outage",
      connectionOptions: { reconnectTimeWait: 200 },
    });
  });

  afterAll(async () => {
    await conn.close();
    await server.stop();
  });

  it("times out within the deadline when the server hangs, then fails fast once disconnected", async () => {
    const cfg = uniqueQueueConfig();
    await ensureStream(conn.jsm, cfg);
    const pub = createPublisher(conn, { timeoutMs: 500 });
    const subject = subjectFor(cfg.subjectPrefix, "p", "t");
    await pub.publish(subject, payload, "before");

    // Frozen server: TCP stays up, no PubAck ever comes.
    server.pause();
    let t0 = performance.now();
    let err = await pub.publish(subject, payload, "frozen").catch((e: unknown) => e);
    let took = performance.now() - t0;
    expect(err).toBeInstanceOf(QueueUnavailableError);
    expect((err as QueueUnavailableError).reason).toBe("timeout");
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(900);

    // Dead server: once the client has seen the disconnect, publishes fail without waiting.
    server.process.kill("SIGKILL");
    const until = Date.now() + 5_000;
    while (conn.isConnected() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(conn.isConnected()).toBe(false);
    t0 = performance.now();
    err = await pub.publish(subject, payload, "dead").catch((e: unknown) => e);
    took = performance.now() - t0;
    expect(err).toBeInstanceOf(QueueUnavailableError);
    expect((err as QueueUnavailableError).reason).toBe("disconnected");
    expect(took).toBeLessThan(50);
  });
});
