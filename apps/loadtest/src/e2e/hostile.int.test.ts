/**
 * Hostile input at the gateway: each gets the right 4xx, nothing is enqueued, every reason is
 * counted, and no secret shows in logs or answers. (What is validly signed but cannot be mapped
 * is not hostile: it is kept in the dead letters and answered 202.)
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrape, startSystem, type System } from "../harness/system.js";
import { resendBody, telnyxBody } from "../webhooks.js";

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ workers: 0, gatewayEnv: { WEBHOOK_MAX_BODY_BYTES: "4096", LOG_LEVEL: "debug" } });
}, 60_000);
afterAll(async () => {
  await sys?.stop();
});

const post = (path: string, headers: Record<string, string>, body: string | Buffer) => fetch(`${sys.gatewayUrl}${path}`, { method: "POST", headers, body });
const nowS = () => Math.floor(Date.now() / 1000);
const telnyx = () => telnyxBody({ messageId: "m-1", to: [{ phone: "+15555550100", status: "delivered" }] });

/** A request written byte by byte on a socket, so headers can repeat exactly as a hostile client sends them. */
function rawPost(path: string, headerPairs: [string, string][], body: string): Promise<number> {
  const url = new URL(sys.gatewayUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      const head = [`POST ${path} HTTP/1.1`, `host: ${url.host}`, "connection: close", `content-length: ${Buffer.byteLength(body)}`, ...headerPairs.map(([k, v]) => `${k}: ${v}`)];
      socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
    });
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d.toString()));
    socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on("error", reject);
  });
}

describe("hostile input", () => {
  const cases: [string, number, () => Promise<Response | number>][] = [
    ["unknown provider", 404, () => post("/webhooks/acme", { "content-type": "application/json" }, "{}")],
    ["body over the limit", 413, () => post("/webhooks/resend", { "content-type": "application/json" }, "x".repeat(5000))],
    ["wrong content type", 415, () => { const b = telnyx(); return post("/webhooks/telnyx", { ...sys.signer.telnyx(b), "content-type": "text/plain" }, b); }],
    ["malformed JSON, validly signed: kept, not bounced", 202, () => { const b = '{"data": {'; return post("/webhooks/telnyx", sys.signer.telnyx(b), b); }],
    ["JSON of the wrong shape, validly signed: kept, not bounced", 202, () => { const b = '{"data": []}'; return post("/webhooks/telnyx", sys.signer.telnyx(b), b); }],
    ["truncated body", 401, () => { const b = telnyx(); return post("/webhooks/telnyx", sys.signer.telnyx(b), b.slice(0, b.length - 10)); }],
    ["no signature", 401, () => post("/webhooks/telnyx", { "content-type": "application/json", "telnyx-timestamp": String(nowS()) }, telnyx())],
    ["signature from another key", 401, () => { const b = resendBody({ emailId: "e", type: "email.sent", to: "a@b" }); return post("/webhooks/resend", { ...sys.signer.resend(b), "svix-signature": "v1,Zm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2VkZm8=" }, b); }],
    ["timestamp far in the past", 401, () => { const b = telnyx(); return post("/webhooks/telnyx", sys.signer.telnyx(b, nowS() - 86_400), b); }],
    ["timestamp far in the future", 401, () => { const b = telnyx(); return post("/webhooks/telnyx", sys.signer.telnyx(b, nowS() + 86_400), b); }],
    ["replay of a valid request after the tolerance", 401, () => { const b = resendBody({ emailId: "e", type: "email.sent", to: "a@b" }); return post("/webhooks/resend", sys.signer.resend(b, "msg_replayed", nowS() - 301), b); }],
    ["unknown event type, validly signed: kept, not bounced", 202, () => { const b = JSON.stringify({ type: "email.teleported", created_at: new Date().toISOString(), data: { email_id: "e" } }); return post("/webhooks/resend", sys.signer.resend(b), b); }],
    ["repeated signature headers", 401, () => { const b = telnyx(); const h = sys.signer.telnyx(b); return rawPost("/webhooks/telnyx", [["content-type", "application/json"], ["telnyx-timestamp", h["telnyx-timestamp"]!], ["telnyx-timestamp", h["telnyx-timestamp"]!], ["telnyx-signature-ed25519", h["telnyx-signature-ed25519"]!]], b); }],
    ["oversized headers", 431, () => post("/webhooks/telnyx", { "content-type": "application/json", "x-padding": "p".repeat(20_000) }, "{}")],
  ];

  it.each(cases)("%s → %i", async (_name, status, send) => {
    const res = await send();
    const code = typeof res === "number" ? res : res.status;
    expect(code).toBe(status);
    if (typeof res !== "number") {
      const text = await res.text();
      expect(text).not.toContain(sys.secrets.RESEND_WEBHOOK_SECRET.slice(6, 20));
    }
  });

  it("enqueued nothing and counted every reason", async () => {
    const info = await sys.queueConnection.jsm.streams.info(sys.queue.stream);
    expect(info.state.messages).toBe(0);
    const rejected = await scrape(sys.metricsUrl, "webhook_rejected_total");
    const reasons = new Map<string, number>();
    for (const [labels, v] of rejected) {
      const reason = /reason="([^"]+)"/.exec(labels)![1]!;
      reasons.set(reason, (reasons.get(reason) ?? 0) + v);
    }
    expect(reasons.get("unknown_provider")).toBe(1);
    expect(reasons.get("too_large")).toBe(1);
    expect(reasons.get("unsupported_media_type")).toBe(1);
    expect(reasons.get("malformed")).toBeUndefined();
    expect(reasons.get("mismatch")).toBe(2);
    expect(reasons.get("missing_header")).toBe(1);
    expect(reasons.get("timestamp_too_old")).toBe(2);
    expect(reasons.get("timestamp_too_new")).toBe(1);
    expect(reasons.get("unsupported_event")).toBeUndefined();
    expect(reasons.get("bad_encoding")).toBe(1);
    // The three validly signed ones the plugins cannot map are in the dead letters instead.
    const kept = await scrape(sys.metricsUrl, "webhook_unsupported_total");
    expect(kept.get('{provider="telnyx",reason="malformed"}')).toBe(2);
    expect(kept.get('{provider="resend",reason="unsupported_event"}')).toBe(1);
    expect(await sys.deadLetterCount()).toBe(3);
  });

  it("never writes a secret to its logs, even at debug level", async () => {
    const logs = sys.gateway.output();
    expect(logs.length).toBeGreaterThan(0);
    const secret = sys.secrets.RESEND_WEBHOOK_SECRET;
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(secret.slice(6, 26));
    expect(logs).not.toContain(sys.secrets.LOADTEST_TELNYX_PRIVATE_SEED);
  });
});
