import { generateKeyPairSync, sign } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultEd25519Backend, nodeCryptoBackend, sodiumBackend } from "./ed25519-backend.js";

// RFC 8032 §7.1 TEST 1 and the Telnyx-style derived vector of providers.md.
const PUBLIC_KEY = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex");
const BODY =
  '{"data":{"event_type":"message.finalized","id":"b3a0c0de-0000-4000-8000-000000000001","occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"id":"40385f64-5717-4562-b3fc-2c963f66afa6","to":[{"phone_number":"+15555550100","status":"delivered"}]},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/hooks"}}';
const MESSAGE = Buffer.from(`1700000000|${BODY}`);
const SIGNATURE = Buffer.from("E5vFA6QLPMPnolzl4h9PjTkFamca4ffpHNoMHazLJlBQtpv+dB3+SMYtuWx9BKmcZL1GtBhakojafAa8f4CcDw==", "base64");

const sodium = sodiumBackend();

describe("Ed25519 backends", () => {
  it("libsodium is available here (sodium-native ships prebuilt binaries) and is the default", () => {
    expect(sodium?.name).toBe("libsodium");
    expect(defaultEd25519Backend().name).toBe(process.env.FLOODGATE_ED25519 === "node" ? "node:crypto" : "libsodium");
  });

  for (const backend of [nodeCryptoBackend, ...(sodium ? [sodium] : [])]) {
    it(`${backend.name} verifies the derived Telnyx vector and rejects any flipped bit`, () => {
      const key = backend.importKey(PUBLIC_KEY);
      expect(backend.verify(SIGNATURE, MESSAGE, key)).toBe(true);
      for (const i of [0, 10, 100, MESSAGE.length - 1]) {
        const tampered = Buffer.from(MESSAGE);
        tampered[i]! ^= 0x01;
        expect(backend.verify(SIGNATURE, tampered, key)).toBe(false);
      }
      const badSig = Buffer.from(SIGNATURE);
      badSig[5]! ^= 0x80;
      expect(backend.verify(badSig, MESSAGE, key)).toBe(false);
    });
  }

  it("both backends agree on random keys, messages and tampering", () => {
    if (!sodium) return;
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
    const [kNode, kSodium] = [nodeCryptoBackend.importKey(raw), sodium.importKey(raw)];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), fc.nat(), (message, tamper, at) => {
        const signature = sign(null, message, privateKey);
        if (tamper) signature[at % 64]! ^= 1 << at % 8;
        const a = nodeCryptoBackend.verify(signature, message, kNode);
        const b = sodium.verify(signature, message, kSodium);
        expect(a).toBe(b);
        expect(a).toBe(!tamper);
      }),
      { numRuns: 300 },
    );
  });
});
