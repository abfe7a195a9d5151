import { createProviderRuntime, decodeEvents, encodeEvents, parseForm, ProviderConfigError, type FormParams } from "@floodgate/provider-kit";
import { formBody, loadFixtures, runProviderConformance, signUrlParams } from "@floodgate/provider-kit/testing";
import { describe, expect, it } from "vitest";
import { TWILIO_STATUSES } from "./extract.js";
import { twilio } from "./provider.js";

const PUBLIC_URL = "https://hooks.example.com";
const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
const paramsOf = (body: Uint8Array): FormParams => {
  const parsed = parseForm(body);
  return parsed.ok ? parsed.value : {};
};

// Every fixtures/*.json is signed over PUBLIC_URL + the request's path and query, tampered
// (a changed parameter, path or query), rotated and extracted.
runProviderConformance({
  definition: twilio,
  fixtures,
  keys: ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00000000000000000000000000000000"],
  env: (tokens) => (tokens.length === 0 ? { PUBLIC_URL } : { TWILIO_AUTH_TOKEN: tokens.join(","), PUBLIC_URL }),
  sign: (token, body, { url }) => ({ "x-twilio-signature": signUrlParams(token, PUBLIC_URL + url, paramsOf(body)) }),
  covers: "form",
  signsUrl: true,
  url: "/webhooks/twilio?tenant=acme",
});

// Official vectors: twilio/twilio-node spec/validation.spec.js and the Twilio security docs (providers.md §3),
// through the provider: PUBLIC_URL is the vector URL's origin, the request carries its path and query.
const P = { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" };
const VECTORS: [string, string, Record<string, string | string[]>][] = [
  ["https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", P],
  ["https://mycompany.com:443/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w=", P],
  ["http://mycompany.com:80/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4=", P],
  ["http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", P],
  ["https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", "CukzLTc1tT5dXEDIHm/tKBanW10=", P],
  ["https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2", "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=", P],
  ["https://user@mycompany.com/myapp.php?foo=1&bar=2", "2YRLlVAflCqxaNicjMpJcSTgzSs=", P],
  ["https://mycompany.com/myapp.php?foo=1&bar=2&Body=It%27s+amazing", "TfZzewPq8wqrGlMfyAud8+/IvJ0=", P],
  ["https://mycompany.com/myapp.php?foo=1&bar=2", "83O6e2vORAoJHUNzJjDWN1jz+BA=", { "MessagingBinding.Address": ["+1325xxxxxxx", "+1415xxxxxxx"] }],
  ["https://mycompany.com/myapp.php?foo=1&bar=2", "GvWf1cFY/Q7PnoempGyD5oXAezc=", { ...P, Caller: "+14158675310", From: "+14158675310" }],
];

describe("twilio: official vectors", () => {
  const verify = (publicUrl: string, path: string, signature: string, params: Record<string, string | string[]>, token = "12345") =>
    createProviderRuntime(twilio, { TWILIO_AUTH_TOKEN: token, PUBLIC_URL: publicUrl }).verify({
      body: Buffer.from(formBody(params)),
      headers: { "x-twilio-signature": signature },
      url: path,
      method: "POST",
    });

  it.each(VECTORS.map((v, i) => [i + 1, ...v] as const))("row %i verifies, and fails with another token", (_row, url, signature, params) => {
    const path = url.slice(url.indexOf("/myapp.php"));
    const origin = url.slice(0, url.indexOf("/myapp.php"));
    expect(verify(origin, path, signature, params)).toEqual({ ok: true });
    expect(verify(origin, path, signature, params, "12346")).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("port variants: PUBLIC_URL without a port accepts the :443/:80 signatures; a non-default port is also tried without it", () => {
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w=", P)).toEqual({ ok: true });
    expect(verify("http://mycompany.com", "/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4=", P)).toEqual({ ok: true });
    expect(verify("https://mycompany.com:1234", "/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", P)).toEqual({ ok: true });
  });

  it("query-encoding variant: the apostrophe as Twilio sent it still matches the %27 signature", () => {
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2&Body=It's+amazing", "TfZzewPq8wqrGlMfyAud8+/IvJ0=", P)).toEqual({ ok: true });
  });

  it("a changed parameter, an added one, or a changed query is a mismatch", () => {
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", { ...P, Digits: "4321" })).toMatchObject({ reason: "mismatch" });
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", { ...P, Extra: "1" })).toMatchObject({ reason: "mismatch" });
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=3", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", P)).toMatchObject({ reason: "mismatch" });
  });
});

describe("twilio: configuration", () => {
  it.each([
    [{ PUBLIC_URL }, ["TWILIO_AUTH_TOKEN"], /TWILIO_AUTH_TOKEN is required/],
    [{ TWILIO_AUTH_TOKEN: "t" }, ["PUBLIC_URL", "TWILIO_AUTH_TOKEN"], /TWILIO_AUTH_TOKEN is set, but PUBLIC_URL/],
    [{ TWILIO_AUTH_TOKEN: "t", PUBLIC_URL: "hooks.example.com" }, ["PUBLIC_URL", "TWILIO_AUTH_TOKEN"], /PUBLIC_URL is not an absolute URL/],
  ])("refuses %j naming %j", (env, variables, message) => {
    try {
      createProviderRuntime(twilio, env);
      expect.fail("no error");
    } catch (error) {
      expect(error).toBeInstanceOf(ProviderConfigError);
      expect([...(error as ProviderConfigError).variables].sort()).toEqual(variables);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe("twilio: mapping", () => {
  it("fixtures cover every row of the status table, and survive the queue codec", () => {
    const covered = new Set(fixtures.map((f) => paramsOf(Buffer.from(String(f.body))).MessageStatus ?? paramsOf(Buffer.from(String(f.body))).SmsStatus));
    for (const status of [...TWILIO_STATUSES.keys(), "received", "receiving"]) expect(covered, status).toContain(status);
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });
});
