import { createProviderRuntime, decodeEvents, encodeEvents, type VerifyResult } from "@floodgate/provider-kit";
import { generateEcdsaP256TestKey, loadFixtures, runProviderConformance, signEcdsaP256, type EcdsaP256TestKey } from "@floodgate/provider-kit/testing";
import { describe, expect, it } from "vitest";
import { SENDGRID_STATUSES } from "./extract.js";
import { sendgrid, SENDGRID_TOLERANCE_SECONDS } from "./provider.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
const keys = [generateEcdsaP256TestKey(), generateEcdsaP256TestKey(), generateEcdsaP256TestKey()] as [EcdsaP256TestKey, EcdsaP256TestKey, EcdsaP256TestKey];

runProviderConformance({
  definition: sendgrid,
  fixtures,
  keys,
  env: (list) => (list.length === 0 ? {} : { SENDGRID_WEBHOOK_PUBLIC_KEY: list.map((k) => k.publicKey).join(",") }),
  sign: (key, body, { timestamp }) => ({
    "x-twilio-email-event-webhook-signature": signEcdsaP256(key, timestamp, body),
    "x-twilio-email-event-webhook-timestamp": String(timestamp),
  }),
  timestampHeader: "x-twilio-email-event-webhook-timestamp",
  toleranceSeconds: SENDGRID_TOLERANCE_SECONDS,
  exhaustiveTamperLimit: 512,
});

// Official vectors: sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js (providers.md §4).
const A = {
  key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
  timestamp: "1600112502",
  signature: "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=",
  body: '[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]\r\n',
};
const B = {
  key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcIx/FfEzx6cikC/yPfUvwaX/JScE7Fc9CJD2afQ9Ok3Q==",
  timestamp: "1619651159",
  signature: "MEYCIQC/I4o6vCgqRYrTljjoVWB/GRWNtxeePlLMHr3x9ETeRQIhAIpV+03nREPTTHWSW0wIOA0EoMPdcNgXa70yCaqDJlu5",
  body: '[{"email":"invalid@gmail.com","event":"processed","send_at":0,"sg_event_id":"cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA","sg_message_id":"qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0","smtp-id":"<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>","timestamp":1619651146},\r\n{"email":"invalid@gmail.com","event":"bounce","ip":"167.89.101.76","reason":"552 5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm c17si1130468pgv.34 - gsmtp","sg_event_id":"Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w","sg_message_id":"qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0","smtp-id":"<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>","status":"5.2.2","timestamp":1619651147,"tls":1,"type":"blocked"}]\r\n',
};
const request = (v: { timestamp: string; signature: string; body: string }, over: Partial<{ timestamp: string; signature: string; body: string }> = {}) => {
  const r = { ...v, ...over };
  return {
    body: Buffer.from(r.body),
    headers: { "x-twilio-email-event-webhook-signature": r.signature, "x-twilio-email-event-webhook-timestamp": r.timestamp },
    url: "/webhooks/sendgrid",
    method: "POST",
    now: Number(v.timestamp) * 1000,
  };
};

describe("sendgrid: official vectors", () => {
  it("vector A (one event) verifies and maps: dropped → failed, message id before the first dot", async () => {
    const p = createProviderRuntime(sendgrid, { SENDGRID_WEBHOOK_PUBLIC_KEY: A.key });
    expect(await p.handle(request(A))).toMatchObject({
      ok: true,
      events: [{ providerEventId: "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA", providerMessageId: "LRzXl_NHStOGhQ4kofSm_A", status: "failed", errorMessage: "Bounced Address", occurredAt: 1600112492000 }],
    });
  });

  it("vector A's negatives: another key, another body, another signature, a timestamp that is not one", () => {
    const wrongKey = createProviderRuntime(sendgrid, {
      SENDGRID_WEBHOOK_PUBLIC_KEY: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==",
    });
    const p = createProviderRuntime(sendgrid, { SENDGRID_WEBHOOK_PUBLIC_KEY: A.key });
    expect(wrongKey.verify(request(A))).toMatchObject({ ok: false, reason: "mismatch" });
    expect(p.verify(request(A, { body: "payload" }))).toMatchObject({ ok: false, reason: "mismatch" });
    expect(p.verify(request(A, { signature: "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=" }))).toMatchObject({ ok: false, reason: "mismatch" });
    expect(p.verify(request(A, { timestamp: "timestamp" }))).toMatchObject({ ok: false, reason: "bad_encoding" });
  });

  it("vector B (two events, CRLF between items) verifies and maps to two events; a bounce of type blocked is a failure", async () => {
    const p = createProviderRuntime(sendgrid, { SENDGRID_WEBHOOK_PUBLIC_KEY: `${A.key},${B.key}` });
    const result = await p.handle(request(B));
    expect(result).toMatchObject({ ok: true, events: [{ status: "queued", type: "processed" }, { status: "failed", rawStatus: "bounce/blocked", errorCode: "5.2.2" }] });
    expect(p.verify(request(B, { body: B.body.replace("\r\n{", "\n{") }))).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("the window: 25 h both ways (SendGrid retries for 24 h)", () => {
    const p = createProviderRuntime(sendgrid, { SENDGRID_WEBHOOK_PUBLIC_KEY: A.key });
    const at = (offset: number) => p.verify({ ...request(A), now: Number(A.timestamp) * 1000 + offset }) as VerifyResult;
    expect(at(SENDGRID_TOLERANCE_SECONDS * 1000)).toMatchObject({ ok: true });
    expect(at((SENDGRID_TOLERANCE_SECONDS + 1) * 1000)).toMatchObject({ ok: false, reason: "timestamp_too_old" });
  });
});

describe("sendgrid: mapping", () => {
  it("fixtures cover every row of the status table (and both bounce types), and survive the queue codec", () => {
    const raw = new Set(fixtures.flatMap((f) => (f.expected.ok ? f.expected.events.map((e) => e.rawStatus) : [])));
    for (const event of SENDGRID_STATUSES.keys()) expect([...raw].some((r) => r === event || r.startsWith(`${event}/`)), event).toBe(true);
    expect(raw).toContain("bounce/blocked");
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });

  it("a POST of thousands of events maps each, with its own id", async () => {
    const key = keys[0];
    const items = Array.from({ length: 3000 }, (_, i) => ({ email: `u${i}@example.com`, timestamp: 1700000000, event: "delivered", sg_event_id: `ev-${i}`, sg_message_id: `m${i % 300}.filter.0` }));
    const body = Buffer.from(`${items.map((x) => JSON.stringify(x)).join(",\r\n")}`.replace(/^/, "[").concat("]\r\n"));
    const p = createProviderRuntime(sendgrid, { SENDGRID_WEBHOOK_PUBLIC_KEY: key.publicKey });
    const headers = { "x-twilio-email-event-webhook-signature": signEcdsaP256(key, 1700000000, body), "x-twilio-email-event-webhook-timestamp": "1700000000" };
    const result = await p.handle({ body, headers, url: "/webhooks/sendgrid", method: "POST", now: 1_700_000_000_000 });
    expect(result.ok && result.events.length).toBe(3000);
    expect(result.ok && new Set(result.events.map((e) => e.providerEventId)).size).toBe(3000);
  });
});
