import { describe, expect, it } from "vitest";
import { generateEcdsaP256TestKey, signEcdsaP256 } from "../testing/scheme-signers.js";
import { checkEcdsaP256PublicKey, ecdsaP256 } from "./ecdsa-p256.js";

// Official vector A: sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js (providers.md §4).
const KEY = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
const SIG = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
const BODY =
  '[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]\r\n';
const params = { signatureHeader: "x-twilio-email-event-webhook-signature", timestampHeader: "x-twilio-email-event-webhook-timestamp", toleranceSeconds: 300 };
const verify = (keys: string[], body: string, signature = SIG, timestamp = "1600112502", now = 1_600_112_502_000) =>
  ecdsaP256.create({ ...params, publicKeys: keys }).verify(
    { body: Buffer.from(body), headers: { "x-twilio-email-event-webhook-signature": signature, "x-twilio-email-event-webhook-timestamp": timestamp }, url: "/", method: "POST" },
    now,
  );

describe("ecdsaP256", () => {
  it("verifies the official vector and refuses the official negatives", () => {
    expect(verify([KEY], BODY)).toEqual({ ok: true });
    expect(verify(["MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="], BODY)).toMatchObject({ reason: "mismatch" });
    expect(verify([KEY], "payload")).toMatchObject({ reason: "mismatch" });
    expect(verify([KEY], BODY, "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=")).toMatchObject({ reason: "mismatch" });
    expect(verify([KEY], BODY, SIG, "timestamp")).toMatchObject({ reason: "bad_encoding" });
  });

  it("signs and verifies with a generated key; several keys; the window both ways", () => {
    const key = generateEcdsaP256TestKey();
    const sig = signEcdsaP256(key, 1600112502, BODY);
    expect(verify([KEY, key.publicKey], BODY, sig)).toEqual({ ok: true });
    expect(verify([key.publicKey], BODY, sig, "1600112502", 1_600_112_803_000)).toMatchObject({ reason: "timestamp_too_old" });
    expect(verify([key.publicKey], BODY, sig, "1600112502", 1_600_112_201_000)).toMatchObject({ reason: "timestamp_too_new" });
    expect(verify([key.publicKey], BODY, "AAAA")).toMatchObject({ reason: "bad_encoding" });
  });

  it("checks keys: base64 DER SPKI on P-256 only", () => {
    expect(checkEcdsaP256PublicKey(KEY)).toBeUndefined();
    expect(checkEcdsaP256PublicKey("not base64!")).toMatch(/base64/);
    expect(checkEcdsaP256PublicKey("AAAA")).toMatch(/SubjectPublicKeyInfo/);
    expect(checkEcdsaP256PublicKey("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")).toMatch(/P-256/);
    expect(() => ecdsaP256.create({ ...params, publicKeys: ["AAAA"] })).toThrow(/public key #1/);
  });
});
