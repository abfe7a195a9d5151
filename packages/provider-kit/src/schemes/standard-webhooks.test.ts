import { describe, expect, it } from "vitest";
import { InvalidSchemeParamsError } from "../errors.js";
import { checkStandardWebhooksSecret, standardWebhooks } from "./standard-webhooks.js";

// Official vector: svix/svix-webhooks javascript/src/webhook.test.ts ("sign function works").
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = "1614265330";
const NOW = 1614265330 * 1000;
const BODY = Buffer.from('{"test": 2432232314}');
const GOOD = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const verifier = standardWebhooks.create({ secrets: [SECRET] });
const verify = (headers: Record<string, string | string[] | undefined>, body: Uint8Array = BODY, now = NOW) =>
  verifier.verify({ body, headers, url: "https://x.test/", method: "POST", now }, now);

describe("standard-webhooks scheme", () => {
  it("verifies the official vector and returns the message id", () => {
    expect(verify({ "svix-id": ID, "svix-timestamp": TS, "svix-signature": GOOD })).toEqual({ ok: true, id: ID });
  });

  it("accepts unbranded webhook-* headers; branded wins when both are present", () => {
    expect(verify({ "webhook-id": ID, "webhook-timestamp": TS, "webhook-signature": GOOD })).toEqual({ ok: true, id: ID });
    const mixed = { "svix-id": "msg_other", "webhook-id": ID, "svix-timestamp": TS, "svix-signature": GOOD };
    expect(verify(mixed)).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("ignores other versions and malformed entries, accepts any matching v1", () => {
    const header = `v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzWInXqYUQ== v2,${GOOD.slice(3)} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,### ${GOOD}`;
    expect(verify({ "svix-id": ID, "svix-timestamp": TS, "svix-signature": header })).toMatchObject({ ok: true });
    expect(verify({ "svix-id": ID, "svix-timestamp": TS, "svix-signature": `v2,${GOOD.slice(3)}` })).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("rejects a message id with spaces or control characters", () => {
    expect(verify({ "svix-id": "msg 1", "svix-timestamp": TS, "svix-signature": GOOD })).toMatchObject({ ok: false, reason: "bad_encoding" });
  });

  it("fails closed with no secrets", () => {
    const empty = standardWebhooks.create({ secrets: [] });
    expect(empty.keyCount).toBe(0);
    expect(empty.verify({ body: BODY, headers: { "svix-id": ID, "svix-timestamp": TS, "svix-signature": GOOD }, url: "", method: "POST" }, NOW)).toMatchObject({
      ok: false,
      reason: "no_secret",
    });
  });

  it("validates secrets at construction", () => {
    expect(checkStandardWebhooksSecret(SECRET)).toBeUndefined();
    expect(checkStandardWebhooksSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toBeUndefined();
    expect(checkStandardWebhooksSecret("whsec_short")).toMatch(/base64/);
    expect(checkStandardWebhooksSecret("whsec_AAAA")).toMatch(/3 bytes/);
    expect(() => standardWebhooks.create({ secrets: [SECRET, "whsec_!!"] })).toThrow(InvalidSchemeParamsError);
    expect(() => standardWebhooks.create({ secrets: [SECRET], toleranceSeconds: -1 })).toThrow(/toleranceSeconds/);
  });
});
