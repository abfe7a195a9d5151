import { createProviderRuntime, decodeEvents, encodeEvents, parseForm, type FormParams } from "@floodgate/provider-kit";
import { formBody, loadFixtures, runProviderConformance, signPlivoV2, signUrlNonce } from "@floodgate/provider-kit/testing";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PLIVO_STATUSES } from "./extract.js";
import { plivo } from "./provider.js";

const PUBLIC_URL = "https://hooks.example.com";
const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
const paramsOf = (body: Uint8Array): FormParams => {
  const parsed = parseForm(body);
  return parsed.ok ? parsed.value : {};
};

runProviderConformance({
  definition: plivo,
  fixtures,
  keys: ["MTk0ZTQ0YjktZjQ2NC00YjE", "ZGQ2NDg1ZmYtZjY4Mi00NTk", "OGNhYzE4YzEtNTRjYy00ZjQ"],
  env: (tokens) => (tokens.length === 0 ? { PUBLIC_URL } : { PLIVO_AUTH_TOKEN: tokens.join(","), PUBLIC_URL }),
  sign: (token, body, { url }) => {
    const nonce = randomBytes(10).toString("hex");
    return { "x-plivo-signature-v3": signUrlNonce(token, PUBLIC_URL + url, paramsOf(body), nonce), "x-plivo-signature-v3-nonce": nonce };
  },
  covers: "form",
  signsUrl: true,
  url: "/webhooks/plivo?ref=abc",
});

const PARAMS = { MessageUUID: "db3ce55a-7f1d-11e1-8ea7-1231380bc196", Status: "delivered", To: "14155550100", From: "14155550199", ErrorCode: "000" };
const NONCE = "05429567804466091622";
const verify = (publicUrl: string, path: string, signature: string, token = "my_auth_token", params: Record<string, string> = PARAMS, extra: Record<string, string> = {}) =>
  createProviderRuntime(plivo, { PLIVO_AUTH_TOKEN: token, PUBLIC_URL: publicUrl }).verify({
    body: Buffer.from(formBody(params)),
    headers: { "x-plivo-signature-v3": signature, "x-plivo-signature-v3-nonce": NONCE, ...extra },
    url: path,
    method: "POST",
  });

describe("plivo: vectors", () => {
  // Derived V3 vectors (providers.md §8: no official V3 vector exists), through the provider.
  it("the V3 vectors verify with and without a query", () => {
    expect(verify("https://example.com", "/plivo/status?ref=abc", "TCtXxdZ/bVx6VCetMPzQBTxyOkeJb530lo66eCpdQBM=")).toEqual({ ok: true });
    expect(verify("https://example.com", "/plivo/status", "rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=")).toEqual({ ok: true });
  });

  it("several comma-separated signatures (one per active token): any may match", () => {
    expect(verify("https://example.com", "/plivo/status", "TCtXxdZ/bVx6VCetMPzQBTxyOkeJb530lo66eCpdQBM=,rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=")).toEqual({ ok: true });
  });

  it("another token (the official negative's my_auth_tokens), URL or parameter is a mismatch", () => {
    expect(verify("https://example.com", "/plivo/status", "rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=", "my_auth_tokens")).toMatchObject({ reason: "mismatch" });
    expect(verify("https://example.com", "/plivo/status?ref=abc", "rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=")).toMatchObject({ reason: "mismatch" });
    expect(verify("https://example.com", "/plivo/status", "rebXeQGSGSggN5qjAiFDTNFZ2VO1JkqFAy2nIzvmPN4=", "my_auth_token", { ...PARAMS, Status: "failed" })).toMatchObject({ reason: "mismatch" });
  });

  it("V2 (official vector, my_auth_token → ehV3…; my_auth_tokens fails) is reproduced but never accepted: it does not cover the body", () => {
    const v2 = signPlivoV2("my_auth_token", "https://answer.url", "12345");
    expect(v2).toBe("ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=");
    expect(signPlivoV2("my_auth_tokens", "https://answer.url", "12345")).not.toBe(v2);
    const p = createProviderRuntime(plivo, { PLIVO_AUTH_TOKEN: "my_auth_token", PUBLIC_URL: "https://answer.url" });
    expect(p.verify({ body: new Uint8Array(), headers: { "x-plivo-signature-v2": v2, "x-plivo-signature-v2-nonce": "12345" }, url: "/", method: "POST" })).toMatchObject({
      ok: false,
      reason: "missing_header",
    });
  });
});

describe("plivo: mapping", () => {
  it("fixtures cover every row of the status table, and survive the queue codec", () => {
    const covered = new Set(fixtures.map((f) => paramsOf(Buffer.from(String(f.body))).Status));
    for (const status of [...PLIVO_STATUSES.keys(), "received"]) expect(covered, status).toContain(status);
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });

  it("PUBLIC_URL with a trailing slash signs the same URL", () => {
    const body = Buffer.from(formBody(PARAMS));
    const signature = signUrlNonce("t", "https://hooks.example.com/webhooks/plivo", paramsOf(body), NONCE);
    const p = createProviderRuntime(plivo, { PLIVO_AUTH_TOKEN: "t", PUBLIC_URL: "https://hooks.example.com/" });
    expect(p.verify({ body, headers: { "x-plivo-signature-v3": signature, "x-plivo-signature-v3-nonce": NONCE }, url: "/webhooks/plivo", method: "POST" })).toEqual({ ok: true });
  });
});
