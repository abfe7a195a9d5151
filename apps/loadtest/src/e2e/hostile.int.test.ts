/**
 * Hostile input at the gateway: each gets the right 4xx, nothing is enqueued, every reason is
 * counted, and no secret shows in logs or answers. (What is validly signed but cannot be mapped
 * is not hostile: it is kept in the dead letters and answered 202.)
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrape, startSystem, type System } from "../harness/system.js";
import { randomUUID } from "node:crypto";
import {
  createWebhookSigner,
  extraGatewayEnv,
  generateSigningSecrets,
  PROVIDER_PROFILES,
  resendBody,
  signedRequest,
  SNS_FETCH_STUB,
  telnyxBody,
  type ExtraProvider,
  type SignedRequest,
} from "../webhooks.js";

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

describe("hostile input, every provider", () => {
  let all: System;
  const secrets = generateSigningSecrets();
  // Keys and secrets no gateway trusts, with the same public URL and topic.
  const intruder = createWebhookSigner({ ...generateSigningSecrets(), PUBLIC_URL: secrets.PUBLIC_URL, SES_SNS_TOPIC_ARNS: secrets.SES_SNS_TOPIC_ARNS });
  beforeAll(async () => {
    all = await startSystem({ workers: 0, secrets, gatewayEnv: { ...extraGatewayEnv(secrets), LOG_LEVEL: "debug" }, gatewayNodeFlags: ["--import", SNS_FETCH_STUB] });
  }, 60_000);
  afterAll(async () => {
    await all?.stop();
  });

  const send = (r: SignedRequest, over: { headers?: Record<string, string>; path?: string; method?: string } = {}) =>
    fetch(`${all.gatewayUrl}${over.path ?? r.path}`, { method: over.method ?? "POST", headers: over.headers ?? r.headers, body: over.method === "GET" ? undefined : r.body }).then((res) => res.status);
  const delivered = (provider: ExtraProvider) => {
    const profile = PROVIDER_PROFILES[provider];
    return profile.build({ messageId: randomUUID(), to: profile.channel === "sms" ? "+15555550100" : "user@example.com", status: profile.steps.delivered as string }).body;
  };
  const signed = (provider: ExtraProvider, timestampSeconds?: number) => signedRequest(all.signer, provider, delivered(provider), { timestampSeconds });
  const forged = (provider: ExtraProvider) => signedRequest(intruder, provider, delivered(provider));
  const stale = Math.floor(Date.now() / 1000) - 2 * 86_400;
  const without = (headers: Record<string, string>, ...names: string[]) => Object.fromEntries(Object.entries(headers).filter(([k]) => !names.includes(k)));
  const json = { "content-type": "application/json" };

  // [provider, case, expected status, reason counted, request]
  const cases: [ExtraProvider, string, number, string, () => Promise<number>][] = [
    ["twilio", "signed with another auth token", 401, "mismatch", () => send(forged("twilio"))],
    ["twilio", "signed for another URL", 401, "mismatch", () => send(signed("twilio"), { path: "/webhooks/twilio?tenant=other" })],
    ["twilio", "unsigned", 401, "missing_header", () => { const r = signed("twilio"); return send(r, { headers: without(r.headers, "x-twilio-signature") }); }],
    ["twilio", "JSON instead of a form", 415, "unsupported_media_type", () => { const r = signed("twilio"); return send(r, { headers: { ...r.headers, ...json } }); }],
    ["plivo", "signed with another auth token", 401, "mismatch", () => send(forged("plivo"))],
    ["plivo", "unsigned", 401, "missing_header", () => { const r = signed("plivo"); return send(r, { headers: without(r.headers, "x-plivo-signature-v3") }); }],
    ["vonage", "signed with another secret", 401, "mismatch", () => send(forged("vonage"))],
    ["vonage", "stale", 401, "timestamp_too_old", () => send(signed("vonage", stale))],
    ["vonage", "unsigned GET", 401, "missing_header", () => send(signed("vonage"), { method: "GET", path: `/webhooks/vonage?${delivered("vonage")}`, headers: {} })],
    ["vonage", "a JWT from another secret", 401, "mismatch", () => { const r = signedRequest(intruder, "vonage", JSON.stringify({ message_uuid: randomUUID(), status: "delivered", timestamp: new Date().toISOString() })); return send(r); }],
    ["sinch", "signed with another secret", 401, "mismatch", () => send(forged("sinch"))],
    ["sinch", "stale", 401, "timestamp_too_old", () => send(signed("sinch", stale))],
    ["sinch", "replayed (same nonce, after it was taken in)", 401, "replayed", async () => { const r = signed("sinch"); expect(await send(r)).toBe(202); return send(r); }],
    ["bandwidth", "wrong credentials", 401, "mismatch", () => send(forged("bandwidth"))],
    ["bandwidth", "no credentials", 401, "missing_header", () => { const r = signed("bandwidth"); return send(r, { headers: without(r.headers, "authorization") }); }],
    ["postmark", "wrong credentials", 401, "mismatch", () => send(forged("postmark"))],
    ["sendgrid", "signed with another key", 401, "mismatch", () => send(forged("sendgrid"))],
    ["sendgrid", "stale (two days)", 401, "timestamp_too_old", () => send(signed("sendgrid", stale))],
    ["sendgrid", "unsigned", 401, "missing_header", () => { const r = signed("sendgrid"); return send(r, { headers: without(r.headers, "x-twilio-email-event-webhook-signature") }); }],
    ["mailgun", "signed with another key", 401, "mismatch", () => send(forged("mailgun"))],
    ["mailgun", "stale", 401, "timestamp_too_old", () => send(signed("mailgun", stale))],
    ["mailgun", "replayed token (after it was taken in)", 401, "replayed", async () => { const r = signed("mailgun"); expect(await send(r)).toBe(200); return send(r); }],
    ["ses", "certificate URL off the allow-list", 401, "untrusted_key", () => { const r = signed("ses"); return send({ ...r, body: JSON.stringify({ ...JSON.parse(r.body), SigningCertURL: "https://attacker.test/cert.pem" }) }); }],
    ["ses", "topic not allowed", 403, "not_allowed", () => { const r = signedRequest(createWebhookSigner({ ...secrets, SES_SNS_TOPIC_ARNS: "arn:aws:sns:us-east-1:999999999999:attacker" }), "ses", delivered("ses")); return send(r); }],
    ["ses", "a signed field changed", 401, "mismatch", () => { const r = signed("ses"); return send({ ...r, body: JSON.stringify({ ...JSON.parse(r.body), Message: "{}" }) }); }],
    ["ses", "stale", 401, "timestamp_too_old", () => send(signed("ses", stale))],
  ];

  it.each(cases)("%s: %s → %i", async (_provider, _name, status, _reason, run) => {
    expect(await run()).toBe(status);
  });

  it("counted every refusal by provider and reason, and queued only the two first uses of the replayed tokens", async () => {
    const rejected = await scrape(all.metricsUrl, "webhook_rejected_total");
    const counted = new Map<string, number>();
    for (const [labels, v] of rejected) {
      const provider = /provider="([^"]+)"/.exec(labels)![1]!;
      const reason = /reason="([^"]+)"/.exec(labels)![1]!;
      counted.set(`${provider}/${reason}`, (counted.get(`${provider}/${reason}`) ?? 0) + v);
    }
    const want = new Map<string, number>();
    for (const [provider, , , reason] of cases) want.set(`${provider}/${reason}`, (want.get(`${provider}/${reason}`) ?? 0) + 1);
    for (const [key, n] of want) expect(counted.get(key), key).toBe(n);
    const info = await all.queueConnection.jsm.streams.info(all.queue.stream);
    expect(info.state.messages).toBeGreaterThanOrEqual(1);
    expect(info.state.messages).toBeLessThanOrEqual(2);
  });

  it("never writes a provider secret to its logs", () => {
    const logs = all.gateway.output();
    for (const name of ["TWILIO_AUTH_TOKEN", "PLIVO_AUTH_TOKEN", "VONAGE_SIGNATURE_SECRET", "SINCH_WEBHOOK_SECRET", "BANDWIDTH_WEBHOOK_PASSWORD", "POSTMARK_WEBHOOK_PASSWORD", "MAILGUN_WEBHOOK_SIGNING_KEY"] as const) {
      expect(logs, name).not.toContain(secrets[name]);
    }
  });
});
