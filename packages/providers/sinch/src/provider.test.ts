import { createProviderRuntime, decodeEvents, encodeEvents, type VerifyResult } from "@floodgate/provider-kit";
import { hmacOf, loadFixtures, runProviderConformance } from "@floodgate/provider-kit/testing";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SINCH_STATUSES } from "./extract.js";
import { sinch } from "./provider.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));

/** Signs as Sinch does: HMAC-SHA256 of `<body>.<nonce>.<timestamp>`, a fresh nonce each time. */
function signSinch(secret: string, body: Uint8Array, timestamp: number, nonce = randomBytes(13).toString("hex")) {
  return {
    "x-sinch-webhook-signature": hmacOf("sha256", secret, [body, `.${nonce}.${timestamp}`]).toString("base64"),
    "x-sinch-webhook-signature-timestamp": String(timestamp),
    "x-sinch-webhook-signature-nonce": nonce,
  };
}

runProviderConformance({
  definition: sinch,
  fixtures,
  keys: ["sinch-secret-a", "sinch-secret-b", "sinch-secret-c"],
  env: (secrets) => (secrets.length === 0 ? {} : { SINCH_WEBHOOK_SECRET: secrets.join(",") }),
  sign: (secret, body, { timestamp }) => signSinch(secret, body, timestamp),
  timestampHeader: "x-sinch-webhook-signature-timestamp",
  singleUse: true,
});

// Official vector: sinch/sinch-sdk-dotnet tests/Sinch.Tests/Conversation/WebhooksTests.cs (providers.md §10).
const BODY =
  '{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":"e2df3a34-a71b-4448-9db5-a8d2baad28e4","contact_create_notification":{"contact":{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":[{"channel":"SMS","identity":"48123456789","app_id":""}],"display_name":"New Test Contact","email":"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},"message_metadata":""}';
const HEADERS = {
  "x-sinch-webhook-signature": "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE=",
  "x-sinch-webhook-signature-timestamp": "1634579353",
  "x-sinch-webhook-signature-nonce": "01FJA8B4A7BM43YGWSG9GBV067",
};
const NOW = 1_634_579_353_000;

describe("sinch: official vector", () => {
  const verify = (secret: string, body: string, headers: Record<string, string>, now = NOW) =>
    createProviderRuntime(sinch, { SINCH_WEBHOOK_SECRET: secret }).verify({ body: Buffer.from(body), headers, url: "/webhooks/sinch", method: "POST", now }) as VerifyResult;

  it("verifies (and its body, a Conversation API callback, is not an SMS delivery report)", async () => {
    expect(verify("foo_secret1234", BODY, HEADERS)).toMatchObject({ ok: true });
    const p = createProviderRuntime(sinch, { SINCH_WEBHOOK_SECRET: "foo_secret1234" });
    expect(await p.handle({ body: Buffer.from(BODY), headers: HEADERS, url: "/webhooks/sinch", method: "POST", now: NOW })).toMatchObject({ ok: false, reason: "unsupported_event" });
  });

  it("refuses another secret, a changed body, nonce or timestamp, and the same request outside 300 s", () => {
    expect(verify("foo_secret1235", BODY, HEADERS)).toMatchObject({ reason: "mismatch" });
    expect(verify("foo_secret1234", BODY.replace("New Test", "Old Test"), HEADERS)).toMatchObject({ reason: "mismatch" });
    expect(verify("foo_secret1234", BODY, { ...HEADERS, "x-sinch-webhook-signature-nonce": "01FJA8B4A7BM43YGWSG9GBV068" })).toMatchObject({ reason: "mismatch" });
    expect(verify("foo_secret1234", BODY, { ...HEADERS, "x-sinch-webhook-signature-timestamp": "1634579354" })).toMatchObject({ reason: "mismatch" });
    expect(verify("foo_secret1234", BODY, HEADERS, NOW + 301_000)).toMatchObject({ reason: "timestamp_too_old" });
  });

  it("a replayed request (same nonce) is refused while the first is remembered", () => {
    const p = createProviderRuntime(sinch, { SINCH_WEBHOOK_SECRET: "foo_secret1234" });
    const request = { body: Buffer.from(BODY), headers: HEADERS, url: "/webhooks/sinch", method: "POST", now: NOW };
    expect(p.verify(request)).toMatchObject({ ok: true });
    expect(p.verify(request)).toMatchObject({ ok: false, reason: "replayed" });
  });
});

describe("sinch: mapping", () => {
  it("fixtures cover every row of the status table, and survive the queue codec", () => {
    const covered = new Set(fixtures.flatMap((f) => (f.expected.ok ? f.expected.events.map((e) => e.rawStatus) : [])));
    for (const status of SINCH_STATUSES.keys()) expect(covered, status).toContain(status);
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });
});
