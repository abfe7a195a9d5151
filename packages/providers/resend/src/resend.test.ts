import { createProviderRuntime, decodeEvents, encodeEvents, ProviderConfigError, type VerifyRequest } from "@floodgate/provider-kit";
import {
  createStandardWebhooksSigner,
  expectNormalizedEvent,
  fixtureBody,
  generateStandardWebhooksSecret,
  loadFixtures,
  runProviderConformance,
  type StandardWebhooksSigner,
} from "@floodgate/provider-kit/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractResend, RESEND_STATUSES } from "./extract.js";
import { resend } from "./resend.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
const signers = [generateStandardWebhooksSecret(), generateStandardWebhooksSecret(24), generateStandardWebhooksSecret(64)].map((s) =>
  createStandardWebhooksSigner(s),
) as [StandardWebhooksSigner, StandardWebhooksSigner, StandardWebhooksSigner];

runProviderConformance({
  definition: resend,
  fixtures,
  keys: signers,
  env: (list) => (list.length === 0 ? {} : { RESEND_WEBHOOK_SECRET: list.map((s) => s.secret).join(" ") }),
  sign: (signer, body, { timestamp, deliveryId }) => signer.sign(body, { id: deliveryId, timestamp }),
  timestampHeader: "svix-timestamp",
});

// Official vectors: svix/svix-webhooks javascript/src/webhook.test.ts and csharp WebhookTest.cs
// (large payloads), python tests (negative), see providers.md §2.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = "1614265330";
const NOW = 1_614_265_330_000;

describe("resend: official Svix vectors", () => {
  const p = createProviderRuntime(resend, { RESEND_WEBHOOK_SECRET: SECRET });
  const verify = (body: string | Uint8Array, signature: string, prefix = "svix-", now = NOW) => {
    const request: VerifyRequest = {
      body: typeof body === "string" ? Buffer.from(body) : body,
      headers: { [`${prefix}id`]: ID, [`${prefix}timestamp`]: TS, [`${prefix}signature`]: signature },
      url: "https://gw.test/hooks/resend",
      method: "POST",
      now,
    };
    return p.verify(request);
  };
  const BODY = '{"test": 2432232314}';
  const GOOD = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

  it("basic vector verifies and yields the svix-id", () => {
    expect(verify(BODY, GOOD)).toEqual({ ok: true, id: ID });
  });

  it("the test signer reproduces the basic vector", () => {
    expect(createStandardWebhooksSigner(SECRET).signature(BODY, ID, 1614265330)).toBe(GOOD);
  });

  it.each([
    [1024 * 1024, "v1,txpEUxqWZJ5nteTnymUVa+7C4NHpBeXJ6CsBAW0c3/A="],
    [256 * 1024, "v1,Mw4Pe2WgApuT7NSqnSq0PQPV9gbLdggCl9B865x5Xh0="],
    [262143, "v1,NTItnqyWMoFhk2Bbe5V/BMdcFRWgcSQaTgqLHX7FC7c="],
  ])("large payload of %i bytes verifies", (size, signature) => {
    const body = Buffer.alloc(size, "a");
    expect(verify(body, signature)).toEqual({ ok: true, id: ID });
    body[size - 1] = 0x62;
    expect(verify(body, signature)).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("negative vector (last character changed) is a mismatch", () => {
    expect(verify(BODY, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=")).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("multi-signature header: a wrong v1 and v2 entries around a good v1 verifies", () => {
    const header = `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${GOOD} v2,${GOOD.slice(3)}`;
    expect(verify(BODY, header)).toEqual({ ok: true, id: ID });
    expect(verify(BODY, `v2,${GOOD.slice(3)} v1a,${GOOD.slice(3)}`)).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("unbranded webhook-* headers verify", () => {
    expect(verify(BODY, GOOD, "webhook-")).toEqual({ ok: true, id: ID });
  });

  it("the vector is refused 301 s later and earlier, accepted at exactly 300 s", () => {
    expect(verify(BODY, GOOD, "svix-", NOW + 300_000)).toMatchObject({ ok: true });
    expect(verify(BODY, GOOD, "svix-", NOW - 300_000)).toMatchObject({ ok: true });
    expect(verify(BODY, GOOD, "svix-", NOW + 301_000)).toMatchObject({ ok: false, reason: "timestamp_too_old" });
    expect(verify(BODY, GOOD, "svix-", NOW - 301_000)).toMatchObject({ ok: false, reason: "timestamp_too_new" });
  });

  it("several secrets, comma or space separated: either verifies", () => {
    const rotated = createProviderRuntime(resend, { RESEND_WEBHOOK_SECRET: `${signers[0].secret}, ${SECRET}` });
    expect(rotated.verify({ body: Buffer.from(BODY), headers: { "svix-id": ID, "svix-timestamp": TS, "svix-signature": GOOD }, url: "", method: "POST", now: NOW })).toEqual({
      ok: true,
      id: ID,
    });
  });
});

describe("resend: configuration", () => {
  it.each([
    [{}, /RESEND_WEBHOOK_SECRET is required/],
    [{ RESEND_WEBHOOK_SECRET: "" }, /RESEND_WEBHOOK_SECRET is empty/],
    [{ RESEND_WEBHOOK_SECRET: "whsec_%%%" }, /RESEND_WEBHOOK_SECRET item #1 is not whsec_/],
    [{ RESEND_WEBHOOK_SECRET: `${SECRET} whsec_AAAA` }, /RESEND_WEBHOOK_SECRET item #2 decodes to 3 bytes/],
  ])("refuses %j", (env, message) => {
    expect(() => createProviderRuntime(resend, env)).toThrow(ProviderConfigError);
    expect(() => createProviderRuntime(resend, env)).toThrow(message);
  });
});

describe("resend: mapping", () => {
  it("fixtures cover every delivery type and the ignored families, and survive the queue codec", () => {
    const covered = new Set<string>();
    for (const fixture of fixtures) {
      covered.add((fixture.body as { type: string }).type);
      if (fixture.expected.ok) expect(decodeEvents(encodeEvents(fixture.expected.events))).toEqual(fixture.expected.events);
    }
    for (const type of [...RESEND_STATUSES.keys(), "email.received", "contact.created", "domain.updated", "suppression.added"]) {
      expect(covered, type).toContain(type);
    }
  });

  it("needs the verified svix-id", () => {
    const body = JSON.parse(Buffer.from(fixtureBody(fixtures.find((f) => f.name === "email-delivered")!)).toString());
    expect(extractResend(body, { provider: "resend", deliveryId: undefined, body: new Uint8Array(), receivedAt: 0 })).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("property: any mutation of a real payload yields a typed result with well-formed events", () => {
    const base = JSON.parse(Buffer.from(fixtureBody(fixtures.find((f) => f.name === "email-bounced")!)).toString());
    const anyValue = fc.oneof(fc.jsonValue(), fc.constantFrom(...RESEND_STATUSES.keys(), "contact.deleted", null, [], {}));
    const path = fc.constantFrom(
      ["type"],
      ["created_at"],
      ["data"],
      ["data", "email_id"],
      ["data", "to"],
      ["data", "to", "0"],
      ["data", "bounce"],
      ["data", "bounce", "type"],
      ["data", "bounce", "message"],
      ["data", "failed"],
      ["data", "suppressed"],
    );
    fc.assert(
      fc.property(path, anyValue, (keysPath, value) => {
        const body = structuredClone(base);
        let node = body;
        for (const k of keysPath.slice(0, -1)) node = node[k];
        if (node === null || typeof node !== "object") return;
        node[keysPath[keysPath.length - 1]!] = value;
        const result = extractResend(body, { provider: "resend", deliveryId: "msg_x", body: new Uint8Array(), receivedAt: 0 });
        if (result.ok) result.events.forEach((e) => expectNormalizedEvent(e, "resend"));
        else expect(["malformed", "unsupported_event"]).toContain(result.reason);
      }),
      { numRuns: 500 },
    );
  });
});
