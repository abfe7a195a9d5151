import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { VerifyResult } from "../verification.js";
import { hmac, type HmacParams } from "./hmac.js";

// Sinch: official vector from sinch/sinch-sdk-dotnet WebhooksTests.cs (providers.md §10).
const SINCH_BODY =
  '{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":"e2df3a34-a71b-4448-9db5-a8d2baad28e4","contact_create_notification":{"contact":{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":[{"channel":"SMS","identity":"48123456789","app_id":""}],"display_name":"New Test Contact","email":"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},"message_metadata":""}';
const sinch: HmacParams = {
  secrets: ["foo_secret1234"],
  algorithm: "sha256",
  encoding: "base64",
  signature: { header: "x-sinch-webhook-signature" },
  timestamp: { header: "x-sinch-webhook-signature-timestamp", toleranceSeconds: 300 },
  nonce: { header: "x-sinch-webhook-signature-nonce", singleUse: true },
  signed: ["body", { literal: "." }, "nonce", { literal: "." }, "timestamp"],
};
const sinchHeaders = {
  "x-sinch-webhook-signature": "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE=",
  "x-sinch-webhook-signature-timestamp": "1634579353",
  "x-sinch-webhook-signature-nonce": "01FJA8B4A7BM43YGWSG9GBV067",
};

describe("hmac: headers (Sinch)", () => {
  it("verifies the official vector, once: the nonce is single-use until released", () => {
    const v = hmac.create(sinch);
    const request = { body: Buffer.from(SINCH_BODY), headers: sinchHeaders, url: "/", method: "POST" };
    const first = v.verify(request, 1_634_579_353_000) as VerifyResult;
    expect(first).toMatchObject({ ok: true });
    expect(v.verify(request, 1_634_579_360_000)).toMatchObject({ ok: false, reason: "replayed" });
    if (first.ok && "release" in first) first.release?.();
    expect(v.verify(request, 1_634_579_360_000)).toMatchObject({ ok: true });
  });

  it("refuses a changed body, nonce or timestamp, a stale one, and a wrong secret", () => {
    const v = hmac.create(sinch);
    const at = (body: string, headers: Record<string, string>, now = 1_634_579_353_000) => v.verify({ body: Buffer.from(body), headers, url: "/", method: "POST" }, now);
    expect(at(`${SINCH_BODY} `, sinchHeaders)).toMatchObject({ reason: "mismatch" });
    expect(at(SINCH_BODY, { ...sinchHeaders, "x-sinch-webhook-signature-nonce": "01FJA8B4A7BM43YGWSG9GBV068" })).toMatchObject({ reason: "mismatch" });
    expect(at(SINCH_BODY, { ...sinchHeaders, "x-sinch-webhook-signature-timestamp": "1634579354" })).toMatchObject({ reason: "mismatch" });
    expect(at(SINCH_BODY, sinchHeaders, 1_634_579_654_000)).toMatchObject({ reason: "timestamp_too_old" });
    expect(hmac.create({ ...sinch, secrets: ["other"] }).verify({ body: Buffer.from(SINCH_BODY), headers: sinchHeaders, url: "/", method: "POST" }, 1_634_579_353_000)).toMatchObject({
      reason: "mismatch",
    });
  });
});

// Mailgun: official vector from mailgun/mailgun-php WebhookTest.php (providers.md §6).
const mailgun: HmacParams = {
  secrets: ["key-3ax6xnjp29jd6fds4gc373sgvjxteol0"],
  algorithm: "sha256",
  encoding: "hex",
  signature: { field: ["signature", "signature"] },
  timestamp: { field: ["signature", "timestamp"], toleranceSeconds: 300 },
  nonce: { field: ["signature", "token"], singleUse: true },
  signed: ["timestamp", "nonce"],
};
const mailgunBody = (token: string, signature = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33") =>
  Buffer.from(JSON.stringify({ signature: { timestamp: "1403645220", token, signature }, "event-data": { event: "delivered" } }));

describe("hmac: fields of a JSON body (Mailgun)", () => {
  it("verifies the official vector and refuses the official negative", () => {
    const v = hmac.create(mailgun);
    const at = (body: Buffer) => v.verify({ body, headers: {}, url: "/", method: "POST" }, 1_403_645_220_000);
    expect(at(mailgunBody("5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6"))).toMatchObject({ ok: true });
    expect(at(mailgunBody("owyldpe6nxhmrn78epljl6bj0orrki1u3d2v5e6cnlmmuox8jr"))).toMatchObject({ ok: false, reason: "mismatch" });
    expect(at(mailgunBody("5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6"))).toMatchObject({ ok: false, reason: "replayed" });
    expect(at(mailgunBody("x", "9CFC5C41582E51246E73C88D34DB3AF0A3A2692A76FBAB81492842F000256D33".toLowerCase().toUpperCase()))).toMatchObject({ reason: "mismatch" });
  });

  it("reads the fields strictly: missing, wrong type, not JSON, bad hex", () => {
    const v = hmac.create(mailgun);
    const at = (body: string) => v.verify({ body: Buffer.from(body), headers: {}, url: "/", method: "POST" }, 1_403_645_220_000);
    expect(at("{}")).toMatchObject({ reason: "missing_header" });
    expect(at('{"signature":{"timestamp":"1403645220","token":"t"}}')).toMatchObject({ reason: "missing_header" });
    expect(at('{"signature":{"timestamp":"1403645220","token":"t","signature":["x"]}}')).toMatchObject({ reason: "bad_encoding" });
    expect(at('{"signature":{"timestamp":"14036.5","token":"t","signature":"00"}}')).toMatchObject({ reason: "bad_encoding" });
    expect(at('{"signature":{"timestamp":"1403645220","token":"t","signature":"zz"}}')).toMatchObject({ reason: "bad_encoding" });
    expect(at("not json")).toMatchObject({ reason: "bad_encoding" });
    expect(at("[]")).toMatchObject({ reason: "missing_header" });
  });

  it("accepts upper-case hex and an integer timestamp", () => {
    const v = hmac.create(mailgun);
    const sig = createHmac("sha256", "key-3ax6xnjp29jd6fds4gc373sgvjxteol0").update("1403645220tok").digest("hex").toUpperCase();
    const body = JSON.stringify({ signature: { timestamp: 1403645220, token: "tok", signature: sig } });
    expect(v.verify({ body: Buffer.from(body), headers: {}, url: "/", method: "POST" }, 1_403_645_220_000)).toMatchObject({ ok: true });
  });

  it("checks its parameters at construction", () => {
    expect(() => hmac.create({ ...mailgun, timestamp: undefined })).toThrow(/single-use nonce needs a timestamp/);
    expect(() => hmac.create({ ...mailgun, nonce: undefined })).toThrow(/nonce, which is not configured/);
    expect(() => hmac.create({ ...mailgun, secrets: [""] })).toThrow(/empty/);
  });
});
