import { createProviderRuntime, decodeEvents, encodeEvents, parseForm, ProviderConfigError, type HandleResult, type VerifyResult } from "@floodgate/provider-kit";
import { formBody, loadFixtures, runProviderConformance, signJwtHs256, signParamsDigest, vonageJwtClaims, type SignedRequest } from "@floodgate/provider-kit/testing";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { VONAGE_MESSAGES_STATUSES, VONAGE_SMS_STATUSES } from "./extract.js";
import { vonage } from "./provider.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));

/**
 * Signs as Vonage does: a Messages API body (JSON with `message_uuid`) with an HS256 bearer JWT
 * over its hash; a delivery receipt (form or JSON) by adding `timestamp`, `nonce` and `sig`.
 */
function signVonage(secret: string, body: Uint8Array, timestamp: number): SignedRequest {
  const text = Buffer.from(body).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (typeof json === "object" && json !== null && !Array.isArray(json) && "message_uuid" in json) {
    return { headers: { authorization: `Bearer ${signJwtHs256(secret, vonageJwtClaims(body, timestamp))}` }, body };
  }
  const params: Record<string, string> = {};
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    for (const [k, v] of Object.entries(json)) params[k] = typeof v === "string" ? v : JSON.stringify(v);
  } else {
    const parsed = parseForm(body);
    if (!parsed.ok) return { headers: {}, body };
    for (const [k, v] of Object.entries(parsed.value)) params[k] = typeof v === "string" ? v : (v[0] ?? "");
  }
  const signed = { ...params, timestamp: String(timestamp), nonce: randomBytes(8).toString("hex") };
  const sig = signParamsDigest(secret, "sha256", signed);
  const out = json !== undefined ? JSON.stringify({ ...signed, sig }) : formBody({ ...signed, sig });
  return { headers: {}, body: Buffer.from(out) };
}

runProviderConformance({
  definition: vonage,
  fixtures,
  keys: ["vonage-secret-a", "vonage-secret-b", "vonage-secret-c"],
  env: (secrets) => (secrets.length === 0 ? {} : { VONAGE_SIGNATURE_SECRET: secrets.join(","), VONAGE_SIGNATURE_METHOD: "sha256" }),
  sign: (secret, body, { timestamp }) => signVonage(secret, body, timestamp),
  // The sig parameter sits among the parameters it signs (and compares case-insensitively):
  // the tests below tamper with the parameters one by one.
  covers: "none",
  expires: true,
  singleUse: true,
});

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
const VECTORS = [
  ["md5hash", "d2e7b1dc968737c5998ad624e02f90b7"],
  ["md5", "DDEBD46008C2D4E93CCE578A332A52D5"],
  ["sha1", "27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A"],
  ["sha256", "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330"],
  ["sha512", "E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D819481CD3C311D59CF6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82"],
] as const;
const NOW = 1_385_047_698_000;

describe("vonage: official vectors", () => {
  const runtime = (method: string, secret = SECRET) => createProviderRuntime(vonage, { VONAGE_SIGNATURE_SECRET: secret, VONAGE_SIGNATURE_METHOD: method });

  it.each(VECTORS)("%s verifies as a GET query, a form POST and a JSON POST", (method, sig) => {
    const p = runtime(method);
    const query = formBody({ ...PARAMS, sig });
    expect(p.verify({ body: new Uint8Array(), headers: {}, url: `/webhooks/vonage?${query}`, method: "GET", now: NOW })).toEqual({ ok: true });
    expect(p.verify({ body: Buffer.from(query), headers: {}, url: "/webhooks/vonage", method: "POST", now: NOW })).toEqual({ ok: true });
    expect(p.verify({ body: Buffer.from(JSON.stringify({ ...PARAMS, sig: sig.toLowerCase() })), headers: {}, url: "/webhooks/vonage", method: "POST", now: NOW })).toEqual({ ok: true });
  });

  it.each(VECTORS)("%s: another secret, a changed or added parameter, or outside 300 s is refused", (method, sig) => {
    const at = (params: Record<string, string>, p = runtime(method), now = NOW) =>
      p.verify({ body: Buffer.from(formBody(params)), headers: {}, url: "/webhooks/vonage", method: "POST", now }) as VerifyResult;
    expect(at({ ...PARAMS, sig }, runtime(method, "another_secret"))).toMatchObject({ reason: "mismatch" });
    for (const name of Object.keys(PARAMS)) {
      expect(at({ ...PARAMS, [name]: `${PARAMS[name as keyof typeof PARAMS]}x`, sig }), name).toMatchObject({ ok: false });
    }
    expect(at({ ...PARAMS, extra: "1", sig })).toMatchObject({ reason: "mismatch" });
    expect(at({ ...PARAMS, sig }, runtime(method), NOW + 301_000)).toMatchObject({ reason: "timestamp_too_old" });
  });
});

describe("vonage: Messages API JWT", () => {
  const p = () => createProviderRuntime(vonage, { VONAGE_SIGNATURE_SECRET: "s", VONAGE_SIGNATURE_METHOD: "md5hash" });
  const body = Buffer.from(JSON.stringify({ message_uuid: "u-1", to: "447700900000", timestamp: "2025-03-01T10:00:03.010Z", status: "delivered" }));
  const at = (authorization: string, b: Uint8Array = body) => p().handle({ body: b, headers: { authorization }, url: "/webhooks/vonage", method: "POST", now: 1_740_823_203_000 }) as HandleResult;

  it("accepts a token over this body and maps it; refuses another body, secret or a stale token", () => {
    expect(at(`Bearer ${signJwtHs256("s", vonageJwtClaims(body, 1740823203))}`)).toMatchObject({ ok: true, events: [{ status: "delivered", providerMessageId: "u-1" }] });
    expect(at(`Bearer ${signJwtHs256("s", vonageJwtClaims(body, 1740823203))}`, Buffer.from(body.toString().replace("delivered", "rejected")))).toMatchObject({ reason: "mismatch" });
    expect(at(`Bearer ${signJwtHs256("t", vonageJwtClaims(body, 1740823203))}`)).toMatchObject({ reason: "mismatch" });
    expect(at(`Bearer ${signJwtHs256("s", vonageJwtClaims(body, 1740823203 - 301))}`)).toMatchObject({ reason: "timestamp_too_old" });
  });

  it("an unsigned request is refused either way", () => {
    expect(p().handle({ body, headers: {}, url: "/webhooks/vonage", method: "POST" })).toMatchObject({ ok: false, reason: "missing_header" });
  });
});

describe("vonage: configuration and mapping", () => {
  it("needs both variables: a secret without a method stops the boot", () => {
    try {
      createProviderRuntime(vonage, { VONAGE_SIGNATURE_SECRET: "s" });
      expect.fail("no error");
    } catch (error) {
      expect(error).toBeInstanceOf(ProviderConfigError);
      expect([...(error as ProviderConfigError).variables].sort()).toEqual(["VONAGE_SIGNATURE_METHOD", "VONAGE_SIGNATURE_SECRET"]);
    }
    expect(() => createProviderRuntime(vonage, { VONAGE_SIGNATURE_SECRET: "s", VONAGE_SIGNATURE_METHOD: "sha384" })).toThrow(/must be one of md5hash, md5, sha1, sha256, sha512/);
  });

  it("accepts GET, form and JSON", () => {
    const p = createProviderRuntime(vonage, { VONAGE_SIGNATURE_SECRET: "s", VONAGE_SIGNATURE_METHOD: "sha1" });
    expect(p.methods).toEqual(["POST", "GET"]);
    expect(p.contentTypes).toEqual(["application/x-www-form-urlencoded", "application/json"]);
  });

  it("fixtures cover every row of both status tables, and survive the queue codec", () => {
    const raw = new Set(fixtures.flatMap((f) => (f.expected.ok ? f.expected.events.map((e) => e.rawStatus) : [])));
    for (const status of [...VONAGE_SMS_STATUSES.keys(), ...VONAGE_MESSAGES_STATUSES.keys()]) expect(raw, status).toContain(status);
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });
});
