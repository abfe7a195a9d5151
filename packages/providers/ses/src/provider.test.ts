import { createProviderRuntime, decodeEvents, encodeEvents, type SnsEnvelope } from "@floodgate/provider-kit";
import {
  createSnsTestFetch,
  generateSnsTestCertificate,
  loadFixtures,
  runProviderConformance,
  signSnsMessage,
  type SignedRequest,
  type UnsignedSnsEnvelope,
} from "@floodgate/provider-kit/testing";
import { describe, expect, it } from "vitest";
import { SES_STATUSES } from "./extract.js";
import { ses } from "./provider.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
// SNS has no public vectors with a fixed AWS certificate: the tests make their own
// certificate, "served" at an allow-listed URL by an offline fetch (providers.md §9).
const certificate = generateSnsTestCertificate();
const TOPICS = ["arn:aws:sns:us-east-1:123456789012:ses-events", "arn:aws:sns:us-east-1:123456789012:ses-events-2", "arn:aws:sns:us-east-1:123456789012:never"] as const;

/** Signs an SNS body (JSON) as SNS does, for `topic` at `timestamp`; other bodies cannot be signed and go as they are. */
function signSns(topic: string, body: Uint8Array, timestamp: number, version: "1" | "2" = "2"): SignedRequest {
  let message: unknown;
  try {
    message = JSON.parse(Buffer.from(body).toString());
  } catch {
    return { headers: {}, body };
  }
  if (typeof message !== "object" || message === null || !("Type" in message)) return { headers: {}, body };
  const signed = signSnsMessage(certificate, { ...(message as UnsignedSnsEnvelope), TopicArn: topic, Timestamp: new Date(timestamp * 1000).toISOString() }, version);
  return { headers: {}, body: Buffer.from(JSON.stringify(signed)) };
}

runProviderConformance({
  definition: ses,
  fixtures,
  // The configured "keys" are the topics: a message from another topic is not allowed.
  keys: TOPICS,
  env: (topics) => (topics.length === 0 ? {} : { SES_SNS_TOPIC_ARNS: topics.join(",") }),
  sign: (topic, body, { timestamp }) => signSns(topic, body, timestamp),
  runtimeOptions: { fetch: createSnsTestFetch([certificate]).fetch },
  // The signature covers some fields of the JSON body: the tests below tamper with them.
  covers: "none",
  expires: true,
  toleranceSeconds: 3600,
  unknownKeyReason: "not_allowed",
});

const NOW = Date.parse("2025-03-01T10:00:03Z");
const delivery: UnsignedSnsEnvelope = {
  Type: "Notification",
  MessageId: "a1b2c3d4-5678-90ab-cdef-1234567890ab",
  TopicArn: TOPICS[0],
  Message:
    '{"eventType":"Delivery","mail":{"timestamp":"2025-03-01T10:00:00.000Z","messageId":"0100018f-aaaa-bbbb-cccc-000000000000-000000","destination":["user@example.com"]},"delivery":{"timestamp":"2025-03-01T10:00:02.000Z","recipients":["user@example.com"],"smtpResponse":"250 2.0.0 OK","processingTimeMillis":2000}}',
  Timestamp: "2025-03-01T10:00:02.500Z",
  UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
};

function setup() {
  const served = createSnsTestFetch([certificate]);
  const p = createProviderRuntime(ses, { SES_SNS_TOPIC_ARNS: TOPICS[0] }, { fetch: served.fetch });
  const handle = async (envelope: SnsEnvelope | Record<string, unknown>, now = NOW) =>
    p.handle({ body: Buffer.from(JSON.stringify(envelope)), headers: { "content-type": "text/plain; charset=UTF-8" }, url: "/webhooks/ses", method: "POST", now });
  return { served, handle };
}

describe("ses: SNS signatures with a test certificate", () => {
  it.each(["1", "2"] as const)("SignatureVersion %s verifies and maps the delivery", async (version) => {
    const { handle } = setup();
    expect(await handle(signSnsMessage(certificate, delivery, version))).toMatchObject({
      ok: true,
      id: delivery.MessageId,
      events: [{ providerMessageId: "0100018f-aaaa-bbbb-cccc-000000000000-000000", status: "delivered", recipient: "user@example.com" }],
    });
  });

  it("any signed field changed is a mismatch; a field SNS does not sign is not", async () => {
    const { handle } = setup();
    const signed = signSnsMessage(certificate, delivery);
    for (const key of ["Message", "MessageId", "Timestamp", "Type"] as const) {
      const changed = { ...signed, [key]: key === "Type" ? "SubscriptionConfirmation" : key === "Timestamp" ? "2025-03-01T10:00:02.501Z" : `${signed[key]} ` };
      expect(await handle(changed), key).toMatchObject({ ok: false });
    }
    expect(await handle({ ...signed, Subject: "added" })).toMatchObject({ ok: false, reason: "mismatch" });
    expect(await handle({ ...signed, Signature: signSnsMessage(certificate, { ...delivery, MessageId: "other" }).Signature })).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("a topic not allowed is forbidden, before any certificate is fetched", async () => {
    const { handle, served } = setup();
    expect(await handle(signSnsMessage(certificate, { ...delivery, TopicArn: "arn:aws:sns:us-east-1:999999999999:attacker" }))).toMatchObject({ ok: false, reason: "not_allowed" });
    expect(served.calls).toEqual([]);
  });

  it("a certificate URL off the allow-list is never fetched", async () => {
    const { handle, served } = setup();
    const signed = signSnsMessage(certificate, delivery);
    for (const url of ["https://attacker.test/cert.pem", "http://sns.us-east-1.amazonaws.com/cert.pem", "https://sns.us-east-1.amazonaws.com/cert.txt", "https://sns.eu-west-1.amazonaws.com/cert.pem"]) {
      expect(await handle({ ...signed, SigningCertURL: url }), url).toMatchObject({ ok: false, reason: "untrusted_key" });
    }
    expect(served.calls).toEqual([]);
  });

  it("stale beyond an hour; a certificate that cannot be fetched is key_unavailable (the gateway answers 503, SNS retries)", async () => {
    const { handle } = setup();
    expect(await handle(signSnsMessage(certificate, delivery), NOW + 3_601_000)).toMatchObject({ ok: false, reason: "timestamp_too_old" });
    const other = generateSnsTestCertificate();
    expect(await handle(signSnsMessage(other, delivery))).toMatchObject({ ok: false, reason: "key_unavailable" });
  });
});

describe("ses: subscription handshake", () => {
  const confirmation = (topic: string = TOPICS[0]): UnsignedSnsEnvelope => ({
    Type: "SubscriptionConfirmation",
    MessageId: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
    Token: "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
    TopicArn: topic,
    Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${topic}&Token=2336412f37fb`,
    Timestamp: "2025-03-01T10:00:00.000Z",
  });

  it("a verified confirmation for an allowed topic is confirmed by GET on SubscribeURL", async () => {
    const { handle, served } = setup();
    expect(await handle(signSnsMessage(certificate, confirmation()))).toMatchObject({ ok: true, events: [], handshake: expect.stringMatching(/confirmed/) });
    expect(served.calls.filter((c) => c.includes("ConfirmSubscription"))).toEqual([confirmation().SubscribeURL]);
  });

  it("never confirms a forged confirmation, one for another topic, or one whose SubscribeURL is not SNS", async () => {
    const { handle, served } = setup();
    const forged = { ...signSnsMessage(certificate, confirmation()), SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=evil" };
    expect(await handle(forged)).toMatchObject({ ok: false, reason: "mismatch" });
    expect(await handle(signSnsMessage(certificate, confirmation("arn:aws:sns:us-east-1:999999999999:attacker")))).toMatchObject({ ok: false, reason: "not_allowed" });
    expect(await handle(signSnsMessage(certificate, { ...confirmation(), SubscribeURL: "https://attacker.test/confirm" }))).toMatchObject({ ok: false, reason: "handshake_failed" });
    expect(served.calls.filter((c) => !c.endsWith(".pem"))).toEqual([]);
  });

  it("an UnsubscribeConfirmation is answered and noted, nothing fetched", async () => {
    const { handle, served } = setup();
    const unsubscribe = { ...confirmation(), Type: "UnsubscribeConfirmation" as const };
    expect(await handle(signSnsMessage(certificate, unsubscribe))).toMatchObject({ ok: true, handshake: expect.stringMatching(/UnsubscribeConfirmation/) });
    expect(served.calls.filter((c) => !c.endsWith(".pem"))).toEqual([]);
  });
});

describe("ses: mapping", () => {
  it("fixtures cover every row of the status table (and the three bounce types), and survive the queue codec", () => {
    const raw = fixtures.flatMap((f) => (f.expected.ok ? f.expected.events.map((e) => e.rawStatus) : []));
    for (const type of SES_STATUSES.keys()) expect(raw.some((r) => r === type || r.startsWith(`${type}/`)), type).toBe(true);
    for (const bounce of ["Bounce/Permanent", "Bounce/Transient", "Bounce/Undetermined"]) expect(raw.some((r) => r.startsWith(bounce)), bounce).toBe(true);
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });
});
