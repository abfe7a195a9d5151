import { describe, expect, it } from "vitest";
import { formBody, signPlivoV2, signUrlNonce } from "../testing/scheme-signers.js";
import { plivoV3BaseString, urlNonceHmac } from "./url-nonce-hmac.js";

const PARAMS = { MessageUUID: "db3ce55a-7f1d-11e1-8ea7-1231380bc196", Status: "delivered", To: "14155550100", From: "14155550199", ErrorCode: "000" };
const NONCE = "05429567804466091622";
const verifier = (secrets = ["my_auth_token"]) =>
  urlNonceHmac.create({ secrets, publicUrl: "https://example.com", signatureHeader: "x-plivo-signature-v3", nonceHeader: "x-plivo-signature-v3-nonce" });
const verify = (path: string, signature: string, body = formBody(PARAMS), nonce = NONCE, secrets?: string[]) =>
  verifier(secrets).verify({ body: Buffer.from(body), headers: { "x-plivo-signature-v3": signature, "x-plivo-signature-v3-nonce": nonce }, url: path, method: "POST" }, 0);

describe("urlNonceHmac (Plivo signature V3)", () => {
  // Derived V3 vectors (providers.md §8; no official V3 vector exists).
  it("builds the documented signed strings and reproduces the derived vectors", () => {
    expect(plivoV3BaseString("https://example.com/plivo/status?ref=abc", PARAMS)).toBe(
      "https://example.com/plivo/status?ref=abc.ErrorCode000From14155550199MessageUUIDdb3ce55a-7f1d-11e1-8ea7-1231380bc196StatusdeliveredTo14155550100",
    );
    expect(signUrlNonce("my_auth_token", "https://example.com/plivo/status?ref=abc", PARAMS, NONCE)).toBe("TCtXxdZ/bVx6VCetMPzQBTxyOkeJb530lo66eCpdQBM=");
    expect(signUrlNonce("my_auth_token", "https://example.com/plivo/status", PARAMS, NONCE)).toBe("rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=");
    expect(plivoV3BaseString("https://example.com/x?b=2&a=1&a=0", {})).toBe("https://example.com/x?a=0&a=1&b=2");
    expect(plivoV3BaseString("https://example.com/x", {})).toBe("https://example.com/x");
  });

  it("verifies them through PUBLIC_URL + path, among several comma-separated signatures", () => {
    expect(verify("/plivo/status?ref=abc", "TCtXxdZ/bVx6VCetMPzQBTxyOkeJb530lo66eCpdQBM=")).toEqual({ ok: true });
    expect(verify("/plivo/status", "rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=")).toEqual({ ok: true });
    expect(verify("/plivo/status", "TCtXxdZ/bVx6VCetMPzQBTxyOkeJb530lo66eCpdQBM=, rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=")).toEqual({ ok: true });
  });

  it("refuses another token (my_auth_tokens), nonce, path, query or parameter", () => {
    const sig = "rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=";
    expect(verify("/plivo/status", sig, undefined, undefined, ["my_auth_tokens"])).toMatchObject({ reason: "mismatch" });
    expect(verify("/plivo/status", sig, undefined, "05429567804466091623")).toMatchObject({ reason: "mismatch" });
    expect(verify("/plivo/statuz", sig)).toMatchObject({ reason: "mismatch" });
    expect(verify("/plivo/status?ref=abc", sig)).toMatchObject({ reason: "mismatch" });
    expect(verify("/plivo/status", sig, formBody({ ...PARAMS, Status: "failed" }))).toMatchObject({ reason: "mismatch" });
    expect(verify("/plivo/status", "abc")).toMatchObject({ reason: "bad_encoding" });
    expect(verify("/plivo/status", `${sig},`.repeat(9))).toMatchObject({ reason: "bad_encoding" });
  });

  it("V2 (official vector) is reproduced by the signer, and never accepted: it does not cover the body", () => {
    const v2 = signPlivoV2("my_auth_token", "https://answer.url", "12345");
    expect(v2).toBe("ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=");
    expect(signPlivoV2("my_auth_tokens", "https://answer.url", "12345")).not.toBe(v2);
    const v = verifier();
    expect(v.verify({ body: Buffer.from(""), headers: { "x-plivo-signature-v2": v2, "x-plivo-signature-v2-nonce": "12345" }, url: "/", method: "POST" }, 0)).toMatchObject({
      reason: "missing_header",
    });
  });
});
