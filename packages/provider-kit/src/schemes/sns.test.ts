import { describe, expect, it } from "vitest";
import { createSnsTestFetch, generateSnsTestCertificate, signSnsMessage, type UnsignedSnsEnvelope } from "../testing/scheme-signers.js";
import { isPromise, type VerifyResult } from "../verification.js";
import { checkSnsUrl, snsHandshake, snsSignature, snsStringToSign } from "./sns.js";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events";
const NOW = Date.parse("2025-03-01T10:00:03Z");
const cert = generateSnsTestCertificate();
const notification: UnsignedSnsEnvelope = {
  Type: "Notification",
  MessageId: "a1b2c3d4-5678-90ab-cdef-1234567890ab",
  TopicArn: TOPIC,
  Message: '{"eventType":"Delivery"}',
  Timestamp: "2025-03-01T10:00:02.500Z",
  UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
};

function setup(topicArns = [TOPIC]) {
  const served = createSnsTestFetch([cert]);
  const verifier = snsSignature.create({ topicArns }, { fetch: served.fetch });
  const verify = async (body: unknown, now = NOW): Promise<VerifyResult> => {
    const result = verifier.verify({ body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)), headers: {}, url: "/", method: "POST" }, now);
    return isPromise(result) ? await result : result;
  };
  return { verifier, verify, served };
}

describe("snsSignature", () => {
  it("verifies SignatureVersion 2 and 1 with a fetched certificate, cached by URL (then synchronously)", async () => {
    const { verifier, verify, served } = setup();
    expect(await verify(signSnsMessage(cert, notification, "2"))).toEqual({ ok: true, id: notification.MessageId });
    expect(await verify(signSnsMessage(cert, { ...notification, Subject: "Amazon SES Email Event Notification" }, "1"))).toEqual({ ok: true, id: notification.MessageId });
    expect(served.calls).toEqual([cert.url]);
    const cached = verifier.verify({ body: Buffer.from(JSON.stringify(signSnsMessage(cert, notification))), headers: {}, url: "/", method: "POST" }, NOW);
    expect(isPromise(cached)).toBe(false);
  });

  it("shares one fetch between concurrent first requests", async () => {
    const { verify, served } = setup();
    const results = await Promise.all(Array.from({ length: 5 }, () => verify(signSnsMessage(cert, notification))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(served.calls).toHaveLength(1);
  });

  it("refuses a changed signed field, a topic not allowed, a stale message, a bad version", async () => {
    const { verify } = setup();
    const signed = signSnsMessage(cert, notification);
    expect(await verify({ ...signed, Message: '{"eventType":"Bounce"}' })).toMatchObject({ reason: "mismatch" });
    expect(await verify({ ...signed, MessageId: "other" })).toMatchObject({ reason: "mismatch" });
    expect(await verify({ ...signed, Subject: "added" })).toMatchObject({ reason: "mismatch" });
    expect(await verify({ ...signed, UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?other" })).toMatchObject({ ok: true }); // not signed by SNS
    expect(await verify(signSnsMessage(cert, { ...notification, TopicArn: "arn:aws:sns:us-east-1:123456789012:other" }))).toMatchObject({ reason: "not_allowed" });
    expect(await verify(signed, NOW + 3_601_000)).toMatchObject({ reason: "timestamp_too_old" });
    expect(await verify({ ...signed, SignatureVersion: "3" })).toMatchObject({ reason: "bad_encoding" });
    expect(await verify({ ...signed, Type: "Other" })).toMatchObject({ reason: "bad_encoding" });
    expect(await verify({ ...signed, Signature: 5 })).toMatchObject({ reason: "missing_header" });
    expect(await verify("[]")).toMatchObject({ reason: "bad_encoding" });
    expect(await verify({ ...signed, ok: true, Signature: "AAAA" })).toMatchObject({ ok: false });
  });

  it("fetches certificates only from an allow-listed URL of the topic's region", async () => {
    const { verify, served } = setup();
    const signed = signSnsMessage(cert, notification);
    for (const url of [
      "http://sns.us-east-1.amazonaws.com/x.pem",
      "https://sns.us-east-1.amazonaws.com/x.txt",
      "https://sns.us-east-1.amazonaws.com.evil.test/x.pem",
      "https://evil.test/sns.us-east-1.amazonaws.com/x.pem",
      "https://sns.eu-west-1.amazonaws.com/x.pem",
      "https://user@sns.us-east-1.amazonaws.com/x.pem",
      "https://sns.us-east-1.amazonaws.com:8443/x.pem",
      "not a url",
    ]) {
      expect(await verify({ ...signed, SigningCertURL: url }), url).toMatchObject({ ok: false, reason: "untrusted_key" });
    }
    expect(served.calls).toEqual([]);
    expect(checkSnsUrl("https://sns.cn-north-1.amazonaws.com.cn/x.pem", "cn-north-1", "certificate")).toBeUndefined();
  });

  it("answers key_unavailable when the certificate cannot be fetched, without hammering the URL", async () => {
    let calls = 0;
    const failing = snsSignature.create({ topicArns: [TOPIC] }, { fetch: async () => { calls++; throw new Error("ECONNREFUSED"); } });
    const body = Buffer.from(JSON.stringify(signSnsMessage(cert, notification)));
    const run = async () => {
      const r = failing.verify({ body, headers: {}, url: "/", method: "POST" }, NOW);
      return isPromise(r) ? await r : r;
    };
    expect(await run()).toMatchObject({ ok: false, reason: "key_unavailable" });
    expect(await run()).toMatchObject({ ok: false, reason: "key_unavailable" });
    expect(calls).toBe(1);
    const junk = snsSignature.create({ topicArns: [TOPIC] }, { fetch: async () => ({ ok: true, status: 200, text: async () => "not a certificate" }) });
    const r = junk.verify({ body, headers: {}, url: "/", method: "POST" }, NOW);
    expect(isPromise(r) ? await r : r).toMatchObject({ reason: "untrusted_key" });
  });

  it("fails closed without topics, and checks topic ARNs at construction", () => {
    expect(snsSignature.create({ topicArns: [] }).verify({ body: Buffer.from("{}"), headers: {}, url: "/", method: "POST" }, NOW)).toMatchObject({ reason: "no_secret" });
    expect(() => snsSignature.create({ topicArns: ["ses-events"] })).toThrow(/topic #1/);
  });

  it("signs the documented canonical strings", () => {
    expect(snsStringToSign({ ...notification, SignatureVersion: "2", Signature: "", SigningCertURL: "" })).toBe(
      `Message\n${notification.Message}\nMessageId\n${notification.MessageId}\nTimestamp\n${notification.Timestamp}\nTopicArn\n${TOPIC}\nType\nNotification\n`,
    );
    const confirmation = { ...notification, Type: "SubscriptionConfirmation" as const, Token: "tok", SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok" };
    expect(snsStringToSign({ ...confirmation, SignatureVersion: "2", Signature: "", SigningCertURL: "" })).toBe(
      `Message\n${notification.Message}\nMessageId\n${notification.MessageId}\nSubscribeURL\n${confirmation.SubscribeURL}\nTimestamp\n${notification.Timestamp}\nToken\ntok\nTopicArn\n${TOPIC}\nType\nSubscriptionConfirmation\n`,
    );
  });
});

describe("snsHandshake", () => {
  const base = { provider: "ses", deliveryId: "m", receivedAt: NOW };
  const subscribe = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=tok";
  const confirmation = { ...notification, Type: "SubscriptionConfirmation", Token: "tok", SubscribeURL: subscribe, SignatureVersion: "2", Signature: "x", SigningCertURL: cert.url };

  it("confirms a SubscriptionConfirmation by GET on SubscribeURL", async () => {
    const served = createSnsTestFetch([]);
    expect(await snsHandshake(confirmation, { ...base, fetch: served.fetch })).toMatchObject({ ok: true, events: [], handshake: expect.stringMatching(/confirmed/) });
    expect(served.calls).toEqual([subscribe]);
  });

  it("does not confirm a SubscribeURL off the allow-list, and reports a failed confirmation", async () => {
    const served = createSnsTestFetch([]);
    expect(await snsHandshake({ ...confirmation, SubscribeURL: "https://evil.test/confirm" }, { ...base, fetch: served.fetch })).toMatchObject({ ok: false, reason: "handshake_failed" });
    expect(served.calls).toEqual([]);
    const down = async () => ({ ok: false, status: 500, text: async () => "" });
    expect(await snsHandshake(confirmation, { ...base, fetch: down })).toMatchObject({ ok: false, reason: "handshake_failed" });
  });

  it("notes an UnsubscribeConfirmation and lets a Notification through to extract", () => {
    const served = createSnsTestFetch([]);
    expect(snsHandshake({ ...confirmation, Type: "UnsubscribeConfirmation" }, { ...base, fetch: served.fetch })).toMatchObject({ ok: true, handshake: expect.stringMatching(/Unsubscribe/) });
    expect(snsHandshake({ ...confirmation, Type: "Notification" }, { ...base, fetch: served.fetch })).toBeUndefined();
    expect(served.calls).toEqual([]);
  });
});

describe("certificate cache under a flood of forged certificate URLs", () => {
  it("keeps the certificate in use, and never has more than a few fetches in flight", async () => {
    const { createCertificateCache } = await import("./certificates.js");
    let inFlight = 0;
    let most = 0;
    const fetch = async (url: string) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return url === cert.url ? { ok: true, status: 200, text: async () => cert.pem } : { ok: false, status: 404, text: async () => "" };
    };
    const cache = createCertificateCache({ fetch, capacity: 2, maxPending: 3 });
    const good = await cache.get(cert.url, NOW);
    expect("key" in good).toBe(true);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => cache.get(`https://sns.us-east-1.amazonaws.com/forged-${i}.pem`, NOW)));
    expect(results.every((r) => "reason" in r && r.reason === "key_unavailable")).toBe(true);
    expect(most).toBeLessThanOrEqual(3);
    expect("key" in (cache.get(cert.url, NOW) as object)).toBe(true); // still cached, synchronously
  });
});
