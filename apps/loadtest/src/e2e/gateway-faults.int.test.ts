/**
 * The gateway when JetStream cannot take a webhook: a frozen (slow) NATS, a dead one, a full
 * stream. It answers 503 with Retry-After within its deadline — never 2xx — and recovers alone.
 */
import { randomUUID } from "node:crypto";
import { startNatsServer, type TestNatsServer } from "@floodgate/queue/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { startSystem, type System } from "../harness/system.js";
import { telnyxBody } from "../webhooks.js";

let nats: TestNatsServer;
let sys: System;

beforeAll(async () => {
  nats = await startNatsServer();
  sys = await startSystem({ natsUrl: nats.url, workers: 0, gatewayEnv: { PUBLISH_TIMEOUT_MS: "800", WEBHOOK_STREAM_MAX_MSGS: "40" } });
}, 60_000);
afterAll(async () => {
  nats.process.kill("SIGCONT");
  await sys?.stop();
  await nats?.stop();
});

async function send(): Promise<{ status: number; retryAfter: string | null; ms: number; body: string }> {
  const body = telnyxBody({ messageId: randomUUID(), to: [{ phone: "+15555550100", status: "delivered" }] });
  const started = performance.now();
  const res = await fetch(`${sys.gatewayUrl}/webhooks/telnyx`, { method: "POST", headers: sys.signer.telnyx(body), body });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), ms: performance.now() - started, body: await res.text() };
}

describe("gateway under queue faults", () => {
  it("a frozen NATS never holds a request past the publish deadline, and the gateway recovers by itself", async () => {
    expect((await send()).status).toBe(202);
    nats.pause();
    try {
      const results = await Promise.all(Array.from({ length: 5 }, () => send()));
      for (const r of results) {
        expect(r.status).toBe(503);
        expect(r.retryAfter).toBe("5");
        expect(r.ms).toBeLessThan(1900); // inside Telnyx's 2 s
      }
      expect(JSON.parse(results[0]!.body)).toMatchObject({ outcome: "queue_unavailable" });
    } finally {
      nats.resume();
    }
    await waitFor("accepting again", async () => (await send()).status === 202, 20_000, 250);
  });

  it("a dead NATS is answered 503 at once; after a restart the gateway reconnects by itself", async () => {
    await nats.kill();
    await waitFor("gateway noticed", async () => (await send()).status === 503, 10_000, 100);
    const r = await send();
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(1000);
    await nats.restart();
    await waitFor("accepting again after restart", async () => (await send()).status === 202, 30_000, 250);
  });

  it("a full stream refuses new webhooks with 503 queue_full instead of deleting queued ones", async () => {
    // The restart above: the test's own connection may still be waiting to reconnect (a request
    // buffered meanwhile is lost to nats.js's reconnect and times out, on every server version).
    await waitFor("the test's connection is back", () => sys.queueConnection.isConnected(), 20_000, 100);
    const first = (await sys.queueConnection.jsm.streams.info(sys.queue.stream)).state.first_seq;
    let full: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 100 && !full; i++) {
      const r = await send();
      if (r.status !== 202) full = r;
    }
    expect(full).toBeDefined();
    expect(full!.status).toBe(503);
    expect(full!.retryAfter).toBe("5");
    expect(JSON.parse(full!.body)).toMatchObject({ outcome: "queue_full" });
    // Nothing already stored was deleted to make room.
    const { state } = await sys.queueConnection.jsm.streams.info(sys.queue.stream);
    expect(state).toMatchObject({ messages: 40, first_seq: first });
  });

  it("near its byte limit the stream is guarded: refused before nats-server 2.9 would evict old messages", async () => {
    // A second gateway on the same server, with a byte limit and a wide headroom.
    const guarded = await startSystem({ natsUrl: nats.url, workers: 0, gatewayEnv: { WEBHOOK_STREAM_MAX_BYTES: "20000", WEBHOOK_STREAM_HEADROOM_PERCENT: "30", CAPACITY_CHECK_MS: "10" } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 150; i++) {
        const body = telnyxBody({ messageId: randomUUID(), to: [{ phone: "+15555550100", status: "delivered" }] });
        codes.push((await fetch(`${guarded.gatewayUrl}/webhooks/telnyx`, { method: "POST", headers: guarded.signer.telnyx(body), body })).status);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(codes).toContain(503);
      const { state } = await guarded.queueConnection.jsm.streams.info(guarded.queue.stream);
      expect(state.first_seq).toBe(1); // no message was evicted
      expect(state.messages).toBe(codes.filter((c) => c === 202).length);
      expect(state.bytes).toBeLessThan(20000);
    } finally {
      await guarded.stop();
    }
  });
});
