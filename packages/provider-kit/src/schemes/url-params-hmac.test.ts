import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { formBody, signUrlParams } from "../testing/scheme-signers.js";
import { sortedParamsString, urlParamsHmac, urlVariants } from "./url-params-hmac.js";

// Official vectors: twilio/twilio-node spec/validation.spec.js and the Twilio security docs (providers.md §3).
const P = { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" };
const ROWS: [string, string, Record<string, string | string[]>][] = [
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

function verifier(publicUrl: string, secrets = ["12345"]) {
  return urlParamsHmac.create({ secrets, publicUrl, signatureHeader: "x-twilio-signature" });
}
const verify = (publicUrl: string, path: string, signature: string, body: string | Buffer, secrets?: string[]) =>
  verifier(publicUrl, secrets).verify({ body: typeof body === "string" ? Buffer.from(body) : body, headers: { "x-twilio-signature": signature }, url: path, method: "POST" }, 0);

describe("urlParamsHmac: official Twilio vectors", () => {
  it.each(ROWS.map((r, i) => [i + 1, ...r] as const))("row %i: the signed string reproduces the signature", (_i, url, signature, params) => {
    expect(signUrlParams("12345", url, params)).toBe(signature);
  });

  it.each(ROWS.map((r, i) => [i + 1, ...r] as const))("row %i verifies through PUBLIC_URL + path, and fails with another token", (_i, url, signature, params) => {
    const parsed = new URL(url);
    const base = url.slice(0, url.indexOf(parsed.pathname));
    const path = url.slice(base.length);
    expect(verify(base, path, signature, formBody(params))).toEqual({ ok: true });
    expect(verify(base, path, signature, formBody(params), ["12346"])).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("the port variants: :443 and :80 added, a non-default port stripped (row 1 on https://…:1234)", () => {
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w=", formBody(P))).toEqual({ ok: true });
    expect(verify("http://mycompany.com", "/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4=", formBody(P))).toEqual({ ok: true });
    expect(verify("https://mycompany.com:1234", "/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", formBody(P))).toEqual({ ok: true });
  });

  it("the query-encoding variant: the URL as Twilio called it, with a raw apostrophe", () => {
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2&Body=It's+amazing", "TfZzewPq8wqrGlMfyAud8+/IvJ0=", formBody(P))).toEqual({ ok: true });
    expect(urlVariants("https://h.test/p?a=It's")).toContain("https://h.test:443/p?a=It%27s");
  });

  it("bodySHA256: the URL alone is signed and the body must hash to the query value", () => {
    const body = '{"property": "value", "boolean": true}';
    const hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    expect(verify("https://mycompany.com", `/myapp.php?foo=1&bar=2&bodySHA256=${hash}`, "a9nBmqA0ju/hNViExpshrM61xv4=", body)).toEqual({ ok: true });
    expect(verify("https://mycompany.com", `/myapp.php?bodySHA256=${hash}`, "y77kIzt2vzLz71DgmJGsen2scGs=", body)).toEqual({ ok: true });
    const emptyHash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    expect(verify("https://mycompany.com", `/myapp.php?foo=1&bar=2&bodySHA256=${emptyHash}`, "Ldidvp12m26NI7eqEvxnEpkd9Hc=", "{}")).toEqual({ ok: true });
    expect(verify("https://mycompany.com", `/myapp.php?foo=1&bar=2&bodySHA256=${hash}`, "a9nBmqA0ju/hNViExpshrM61xv4=", `${body} `)).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("Plivo's legacy V1 signature is the same canonical form (plivo-node test/utils.js)", () => {
    const v1 = (params: Record<string, string>) => createHmac("sha1", "MAXXXXXXXXXXXXXXXXXX").update(`http://foo.com/answer/${sortedParamsString(params)}`).digest("base64");
    expect(v1({ CallUUID: "97ceeb52-58b6-11e1-86da-77300b68f8bb", Duration: "300" })).toBe("EJEt0ELanhr8hjMPIJnLNLex0dE=");
    expect(v1({ a: "1 2" })).toBe("n3Xfo4u+vRFyl3gsH8B0qDUIK5g=");
  });
});

describe("urlParamsHmac: hostile input", () => {
  const sig = ROWS[0]![1];
  it("refuses a changed parameter, an added one, a changed path, a repeated header, bad base64", () => {
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", sig, formBody({ ...P, Digits: "1235" }))).toMatchObject({ reason: "mismatch" });
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", sig, formBody({ ...P, Extra: "" }))).toMatchObject({ reason: "mismatch" });
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=3", sig, formBody(P))).toMatchObject({ reason: "mismatch" });
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", "not base64!", formBody(P))).toMatchObject({ reason: "bad_encoding" });
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", "AAAA", formBody(P))).toMatchObject({ reason: "bad_encoding" });
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", sig, "a=%zz")).toMatchObject({ reason: "bad_encoding" });
    expect(
      verifier("https://mycompany.com").verify({ body: Buffer.from(formBody(P)), headers: { "x-twilio-signature": [sig, sig] }, url: "/myapp.php?foo=1&bar=2", method: "POST" }, 0),
    ).toMatchObject({ reason: "bad_encoding" });
  });

  it("fails closed and checks PUBLIC_URL at construction", () => {
    expect(verify("https://mycompany.com", "/myapp.php?foo=1&bar=2", sig, formBody(P), [])).toMatchObject({ reason: "no_secret" });
    expect(() => verifier("mycompany.com")).toThrow(/publicUrl/);
  });
});
