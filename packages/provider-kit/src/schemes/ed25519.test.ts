import { describe, expect, it } from "vitest";
import { InvalidSchemeParamsError } from "../errors.js";
import { generateEd25519TestKey, signEd25519Webhook } from "../testing/signers.js";
import { checkEd25519PublicKey, ed25519, timestampPipeBody } from "./ed25519.js";

// Derived vector from providers.md §1 (RFC 8032 §7.1 TEST 1 key).
const SEED = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
const PUBLIC_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const BODY = Buffer.from(
  '{"data":{"event_type":"message.finalized","id":"b3a0c0de-0000-4000-8000-000000000001","occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"id":"40385f64-5717-4562-b3fc-2c963f66afa6","to":[{"phone_number":"+15555550100","status":"delivered"}]},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/hooks"}}',
);
const SIGNATURE = "E5vFA6QLPMPnolzl4h9PjTkFamca4ffpHNoMHazLJlBQtpv+dB3+SMYtuWx9BKmcZL1GtBhakojafAa8f4CcDw==";
const NOW = 1_700_000_000_000;
const params = { signatureHeader: "x-sig", timestampHeader: "x-ts", toleranceSeconds: 300 };

describe("ed25519 scheme", () => {
  it("the test signer derives the RFC 8032 public key and reproduces the derived vector", () => {
    const key = generateEd25519TestKey(SEED);
    expect(key.publicKey).toBe(PUBLIC_KEY);
    expect(signEd25519Webhook(key, BODY, 1700000000)).toEqual({ "telnyx-signature-ed25519": SIGNATURE, "telnyx-timestamp": "1700000000" });
  });

  it("verifies the derived vector with custom header names", () => {
    const v = ed25519.create({ ...params, publicKeys: [PUBLIC_KEY] });
    expect(v.verify({ body: BODY, headers: { "x-sig": SIGNATURE, "x-ts": "1700000000" }, url: "", method: "POST" }, NOW)).toEqual({ ok: true });
  });

  it("takes the signed payload as a parameter", () => {
    const key = generateEd25519TestKey();
    const dotted = (ts: string, body: Uint8Array) => Buffer.concat([Buffer.from(`${ts}.`), body]);
    const v = ed25519.create({ ...params, publicKeys: [key.publicKey], payload: dotted });
    const headers = signEd25519Webhook(key, BODY, 1700000000, { signatureHeader: "x-sig", timestampHeader: "x-ts", payload: dotted });
    expect(v.verify({ body: BODY, headers, url: "", method: "POST" }, NOW)).toEqual({ ok: true });
    const pipe = signEd25519Webhook(key, BODY, 1700000000, { signatureHeader: "x-sig", timestampHeader: "x-ts" });
    expect(v.verify({ body: BODY, headers: pipe, url: "", method: "POST" }, NOW)).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("builds <timestamp>|<body>", () => {
    expect(Buffer.from(timestampPipeBody("12", Buffer.from("ab"))).toString()).toBe("12|ab");
  });

  it("requires a 64-byte base64 signature", () => {
    const v = ed25519.create({ ...params, publicKeys: [PUBLIC_KEY] });
    for (const sig of [SIGNATURE.slice(4), `${SIGNATURE.slice(0, -2)}A=`, SIGNATURE.replace("+", "-"), `AAAA${SIGNATURE}`]) {
      expect(v.verify({ body: BODY, headers: { "x-sig": sig, "x-ts": "1700000000" }, url: "", method: "POST" }, NOW)).toMatchObject({
        ok: false,
        reason: "bad_encoding",
      });
    }
  });

  it("validates keys at construction and fails closed without any", () => {
    expect(checkEd25519PublicKey(PUBLIC_KEY)).toBeUndefined();
    expect(checkEd25519PublicKey(Buffer.alloc(31).toString("base64"))).toMatch(/31 bytes/);
    expect(checkEd25519PublicKey("not base64!")).toMatch(/base64/);
    expect(() => ed25519.create({ ...params, publicKeys: [PUBLIC_KEY, Buffer.alloc(33).toString("base64")] })).toThrow(InvalidSchemeParamsError);
    expect(() => ed25519.create({ ...params, publicKeys: [PUBLIC_KEY], toleranceSeconds: 1.5 })).toThrow(/toleranceSeconds/);
    const none = ed25519.create({ ...params, publicKeys: [] });
    expect(none.verify({ body: BODY, headers: { "x-sig": SIGNATURE, "x-ts": "1700000000" }, url: "", method: "POST" }, NOW)).toMatchObject({
      ok: false,
      reason: "no_secret",
    });
  });
});
