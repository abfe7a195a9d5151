import { describe, expect, it } from "vitest";
import { formBody, signParamsDigest } from "../testing/scheme-signers.js";
import { paramsDigest, paramsDigestString, type ParamsDigestMethod } from "./params-digest.js";

// Official vectors: Vonage/vonage-node-sdk packages/sms/__tests__/__dataSets__/signature.ts (providers.md §7a).
const PARAMS = {
  "message-timestamp": "2013-11-21 15:27:30",
  messageId: "020000001B0FE827",
  msisdn: "14843472194",
  text: "Test again",
  timestamp: "1385047698",
  to: "13239877404",
  type: "text",
};
const SECRET = "my_secret_key_for_testing";
const VECTORS: [ParamsDigestMethod, string][] = [
  ["md5hash", "d2e7b1dc968737c5998ad624e02f90b7"],
  ["md5", "DDEBD46008C2D4E93CCE578A332A52D5"],
  ["sha1", "27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A"],
  ["sha256", "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330"],
  ["sha512", "E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D819481CD3C311D59CF6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82"],
];
const NOW = 1_385_047_698_000;

describe("paramsDigest (Vonage signed delivery receipts)", () => {
  it("builds the documented string (message-timestamp sorts before messageId)", () => {
    expect(paramsDigestString({ ...PARAMS, sig: "x" })).toBe(
      "&message-timestamp=2013-11-21 15:27:30&messageId=020000001B0FE827&msisdn=14843472194&text=Test again&timestamp=1385047698&to=13239877404&type=text",
    );
    expect(paramsDigestString({ a: "x&y=z" })).toBe("&a=x_y_z");
  });

  it.each(VECTORS)("%s: the official vector verifies from a form, a GET query and JSON; case-insensitively", (method, sig) => {
    expect(signParamsDigest(SECRET, method, PARAMS)).toBe(sig.toLowerCase());
    const v = paramsDigest.create({ secrets: [SECRET], method });
    const form = formBody({ ...PARAMS, sig });
    expect(v.verify({ body: Buffer.from(form), headers: {}, url: "/webhooks/vonage", method: "POST" }, NOW)).toEqual({ ok: true });
    expect(v.verify({ body: new Uint8Array(), headers: {}, url: `/webhooks/vonage?${form}`, method: "GET" }, NOW)).toEqual({ ok: true });
    expect(v.verify({ body: Buffer.from(JSON.stringify({ ...PARAMS, sig: sig.toLowerCase() })), headers: {}, url: "/", method: "POST" }, NOW)).toEqual({ ok: true });
  });

  it.each(VECTORS)("%s: a changed parameter, another secret or another method is a mismatch", (method, sig) => {
    const v = paramsDigest.create({ secrets: [SECRET], method });
    const at = (params: Record<string, string>, verifier = v) => verifier.verify({ body: Buffer.from(formBody(params)), headers: {}, url: "/", method: "POST" }, NOW);
    expect(at({ ...PARAMS, text: "Test again!", sig })).toMatchObject({ reason: "mismatch" });
    expect(at({ ...PARAMS, extra: "", sig })).toMatchObject({ reason: "mismatch" });
    expect(at({ ...PARAMS, sig }, paramsDigest.create({ secrets: ["other"], method }))).toMatchObject({ reason: "mismatch" });
    const other: ParamsDigestMethod = method === "md5hash" ? "md5" : "md5hash";
    if (sig.length === 32) expect(at({ ...PARAMS, sig }, paramsDigest.create({ secrets: [SECRET], method: other }))).toMatchObject({ reason: "mismatch" });
  });

  it("requires the signed timestamp inside the tolerance, and a nonce only once", () => {
    const v = paramsDigest.create({ secrets: [SECRET], method: "sha256" });
    const at = (params: Record<string, string>, now = NOW) => v.verify({ body: Buffer.from(formBody(params)), headers: {}, url: "/", method: "POST" }, now);
    const sig = VECTORS[3]![1];
    expect(at({ ...PARAMS, sig }, NOW + 301_000)).toMatchObject({ reason: "timestamp_too_old" });
    expect(at({ ...PARAMS, sig }, NOW - 301_000)).toMatchObject({ reason: "timestamp_too_new" });
    const { timestamp: _t, ...noTimestamp } = PARAMS;
    expect(at({ ...noTimestamp, sig: signParamsDigest(SECRET, "sha256", noTimestamp) })).toMatchObject({ reason: "missing_header" });
    expect(at(PARAMS)).toMatchObject({ reason: "missing_header" });
    const withNonce = { ...PARAMS, nonce: "n-1" };
    const signed = { ...withNonce, sig: signParamsDigest(SECRET, "sha256", withNonce) };
    expect(at(signed)).toMatchObject({ ok: true });
    expect(at(signed)).toMatchObject({ reason: "replayed" });
    expect(at({ ...PARAMS, sig: "zz" })).toMatchObject({ reason: "bad_encoding" });
    expect(v.verify({ body: Buffer.from(`${formBody({ ...PARAMS, sig })}&sig=${sig}`), headers: {}, url: "/", method: "POST" }, NOW)).toMatchObject({ reason: "bad_encoding" });
  });
});
