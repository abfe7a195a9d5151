import { createProviderRuntime, decodeEvents, encodeEvents, type HandleResult } from "@floodgate/provider-kit";
import { hmacOf, loadFixtures, runProviderConformance } from "@floodgate/provider-kit/testing";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAILGUN_STATUSES } from "./extract.js";
import { mailgun, MAILGUN_TOLERANCE_SECONDS } from "./provider.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));

/** Mailgun's signature object: HMAC-SHA256 hex of `timestamp + token`, a fresh 50-character token. */
function signatureObject(key: string, timestamp: number, token = randomBytes(25).toString("hex")) {
  return { timestamp: String(timestamp), token, signature: hmacOf("sha256", key, [String(timestamp), token]).toString("hex") };
}

/** Puts a signature object into a JSON object body (anything else is returned as is: it cannot be signed). */
function signBody(key: string, body: Uint8Array, timestamp: number): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    return body;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return body;
  return Buffer.from(JSON.stringify({ ...value, signature: signatureObject(key, timestamp) }));
}

// The signature covers the timestamp and the token, not the event data: the suite checks the
// signature object, expiry and single use; the tests below tamper with its fields.
runProviderConformance({
  definition: mailgun,
  fixtures,
  keys: ["key-a3ax6xnjp29jd6fds4gc373sgvjxteol0", "key-b3ax6xnjp29jd6fds4gc373sgvjxteol0", "key-c3ax6xnjp29jd6fds4gc373sgvjxteol0"],
  env: (keys) => (keys.length === 0 ? {} : { MAILGUN_WEBHOOK_SIGNING_KEY: keys.join(",") }),
  sign: (key, body, { timestamp }) => ({ headers: {}, body: signBody(key, body, timestamp) }),
  covers: "none",
  expires: true,
  toleranceSeconds: MAILGUN_TOLERANCE_SECONDS,
  singleUse: true,
});

// Official vector: mailgun/mailgun-php tests/Api/WebhookTest.php (providers.md §6).
const KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
const GOOD = { timestamp: "1403645220", token: "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6", signature: "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33" };
const EVENT = { id: "CPgfbmQMTCKtHW6uIWtuVe", event: "delivered", timestamp: 1403645220.5, recipient: "user@example.com", message: { headers: { "message-id": "20140624213700.1@mg.example.com" } } };
const NOW = 1_403_645_220_000;
const handle = (signature: object, key = KEY, now = NOW, data: object = EVENT) =>
  createProviderRuntime(mailgun, { MAILGUN_WEBHOOK_SIGNING_KEY: key }).handle({
    body: Buffer.from(JSON.stringify({ signature, "event-data": data })),
    headers: { "content-type": "application/json" },
    url: "/webhooks/mailgun",
    method: "POST",
    now,
  }) as HandleResult;

describe("mailgun: official vector", () => {
  it("verifies and maps", () => {
    expect(handle(GOOD)).toMatchObject({ ok: true, id: EVENT.id, events: [{ status: "delivered", providerMessageId: "20140624213700.1@mg.example.com" }] });
  });

  it("the official negative (another token) and any changed field are refused", () => {
    expect(handle({ ...GOOD, token: "owyldpe6nxhmrn78epljl6bj0orrki1u3d2v5e6cnlmmuox8jr" })).toMatchObject({ ok: false, reason: "mismatch" });
    expect(handle({ ...GOOD, timestamp: "1403645221" })).toMatchObject({ ok: false, reason: "mismatch" });
    expect(handle({ ...GOOD, signature: `${GOOD.signature.slice(0, -1)}4` })).toMatchObject({ ok: false, reason: "mismatch" });
    expect(handle(GOOD, "key-other")).toMatchObject({ ok: false, reason: "mismatch" });
    expect(handle({ timestamp: GOOD.timestamp, token: GOOD.token })).toMatchObject({ ok: false, reason: "missing_header" });
  });

  it("is refused 9 h + 1 s later (stale), and a token is single-use inside the window", () => {
    expect(handle(GOOD, KEY, NOW + (MAILGUN_TOLERANCE_SECONDS + 1) * 1000)).toMatchObject({ ok: false, reason: "timestamp_too_old" });
    const p = createProviderRuntime(mailgun, { MAILGUN_WEBHOOK_SIGNING_KEY: KEY });
    const request = { body: Buffer.from(JSON.stringify({ signature: GOOD, "event-data": EVENT })), headers: {}, url: "/webhooks/mailgun", method: "POST", now: NOW };
    expect(p.handle(request)).toMatchObject({ ok: true });
    expect(p.handle(request)).toMatchObject({ ok: false, reason: "replayed" });
    // Another event under the same captured signature: still the same token, still refused.
    expect(p.handle({ ...request, body: Buffer.from(JSON.stringify({ signature: GOOD, "event-data": { ...EVENT, event: "failed" } })) })).toMatchObject({ ok: false, reason: "replayed" });
  });
});

describe("mailgun: mapping", () => {
  it("asks to be answered 200", () => {
    expect(createProviderRuntime(mailgun, { MAILGUN_WEBHOOK_SIGNING_KEY: KEY }).successStatus).toBe(200);
  });

  it("fixtures cover every row of the status table, and survive the queue codec", () => {
    const raw = fixtures.flatMap((f) => (f.expected.ok ? f.expected.events.map((e) => e.rawStatus) : []));
    for (const event of MAILGUN_STATUSES.keys()) expect(raw.some((r) => r === event || r.startsWith(`${event}/`)), event).toBe(true);
    for (const severity of ["failed/temporary", "failed/permanent/bounce", "failed/permanent/generic", "failed/permanent/suppress-bounce"]) expect(raw, severity).toContain(raw.find((r) => r.startsWith(severity)));
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });
});
