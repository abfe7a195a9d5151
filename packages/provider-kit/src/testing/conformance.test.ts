// The suite run against a minimal provider, so that provider-kit itself proves the suite passes
// a correct plugin; real providers run it in their own packages.
import { z } from "zod";
import { envList } from "../config.js";
import { defineProvider } from "../define-provider.js";
import { acknowledged, extracted, isRecord, malformed, parseIsoTimestamp, unsupportedEvent } from "../extract.js";
import { checkStandardWebhooksSecret, standardWebhooks } from "../schemes/standard-webhooks.js";
import { useScheme } from "../schemes/scheme.js";
import { runProviderConformance } from "./conformance.js";
import { createStandardWebhooksSigner, generateStandardWebhooksSecret } from "./signers.js";
import { providerEnv } from "../config.js";
import { parseForm, type FormParams } from "../form.js";
import { digestId, eventIdOf } from "../ids.js";
import { publicUrlVar } from "../public-url.js";
import { basicAuth, basicAuthorization, pairBasicCredentials } from "../schemes/basic-auth.js";
import { snsHandshake, snsSignature } from "../schemes/sns.js";
import { urlParamsHmac } from "../schemes/url-params-hmac.js";
import { createSnsTestFetch, generateSnsTestCertificate, signSnsMessage, signUrlParams, type UnsignedSnsEnvelope } from "./scheme-signers.js";

const sample = defineProvider({
  id: "sample",
  config: z.object({ SAMPLE_SECRET: envList(checkStandardWebhooksSecret) }),
  signature: (config) => useScheme(standardWebhooks, { secrets: config.SAMPLE_SECRET }),
  extract(payload, ctx) {
    if (!isRecord(payload) || typeof payload.type !== "string" || ctx.deliveryId === undefined) return malformed("not an event");
    if (payload.type === "ping") return acknowledged(ctx.deliveryId);
    if (payload.type !== "sent") return unsupportedEvent(payload.type);
    const occurredAt = parseIsoTimestamp(payload.at);
    if (occurredAt === undefined || typeof payload.message !== "string") return malformed("bad fields");
    return extracted(ctx.deliveryId, [
      {
        provider: ctx.provider,
        providerEventId: ctx.deliveryId,
        providerMessageId: payload.message,
        recipient: "",
        type: payload.type,
        status: "sent",
        rawStatus: payload.type,
        occurredAt,
        errorCode: null,
        errorMessage: null,
      },
    ]);
  },
});

const signers = [generateStandardWebhooksSecret(), generateStandardWebhooksSecret(), generateStandardWebhooksSecret()].map((s) =>
  createStandardWebhooksSigner(s),
);

runProviderConformance({
  definition: sample,
  keys: [signers[0]!, signers[1]!, signers[2]!],
  env: (keys) => (keys.length === 0 ? {} : { SAMPLE_SECRET: keys.map((k) => k.secret).join(" ") }),
  sign: (key, body, { timestamp, deliveryId }) => key.sign(body, { id: deliveryId, timestamp }),
  timestampHeader: "svix-timestamp",
  fixtures: [
    {
      name: "sent",
      deliveryId: "msg_1",
      body: { type: "sent", message: "m1", at: "2025-01-01T00:00:00Z" },
      expected: {
        ok: true,
        id: "msg_1",
        events: [
          {
            provider: "sample",
            providerEventId: "msg_1",
            providerMessageId: "m1",
            recipient: "",
            type: "sent",
            status: "sent",
            rawStatus: "sent",
            occurredAt: Date.UTC(2025, 0, 1),
            errorCode: null,
            errorMessage: null,
          },
        ],
      },
    },
    { name: "ping", deliveryId: "msg_2", body: '{"type":"ping"}', expected: { ok: true, id: "msg_2", events: [] } },
    { name: "other", deliveryId: "msg_3", body: { type: "other" }, expected: { ok: false, reason: "unsupported_event" } },
    { name: "large", deliveryId: "msg_4", body: { type: "ping", pad: "x".repeat(5000) }, expected: { ok: true, id: "msg_4", events: [] } },
  ],
});

// The suite against one minimal provider per shape the kit supports beyond JSON + header
// signature: form parameters signed with the URL, HTTP Basic, and SNS certificates.
const formShaped = defineProvider({
  id: "form-shaped",
  body: "form",
  config: providerEnv({ FORM_SHAPED_TOKEN: envList() }, { PUBLIC_URL: publicUrlVar() }),
  signature: (config) => useScheme(urlParamsHmac, { secrets: config.FORM_SHAPED_TOKEN, publicUrl: config.PUBLIC_URL, signatureHeader: "x-sig" }),
  extract(payload, ctx) {
    const p = payload as FormParams;
    if (typeof p.Sid !== "string" || typeof p.Status !== "string") return malformed("no Sid/Status");
    if (p.Status !== "sent") return unsupportedEvent(p.Status);
    const id = eventIdOf(p.Sid, p.Status);
    return extracted(id, [{ provider: ctx.provider, providerEventId: id, providerMessageId: p.Sid, recipient: "", type: "status", status: "sent", rawStatus: p.Status, occurredAt: ctx.receivedAt, errorCode: null, errorMessage: null }]);
  },
});

runProviderConformance({
  definition: formShaped,
  keys: ["token-a", "token-b", "token-c"],
  env: (keys) => (keys.length === 0 ? { PUBLIC_URL: "https://hooks.test" } : { FORM_SHAPED_TOKEN: keys.join(","), PUBLIC_URL: "https://hooks.test" }),
  sign: (key, body, { url }) => {
    const params = parseForm(body);
    return { "x-sig": signUrlParams(key, `https://hooks.test${url}`, params.ok ? params.value : {}) };
  },
  covers: "form",
  signsUrl: true,
  fixtures: [
    {
      name: "sent",
      body: "Sid=SM1&Status=sent&Body=It%27s+a+%2B1+test",
      expected: {
        ok: true,
        id: "SM1:sent",
        events: [{ provider: "form-shaped", providerEventId: "SM1:sent", providerMessageId: "SM1", recipient: "", type: "status", status: "sent", rawStatus: "sent", occurredAt: 1_700_000_000_000, errorCode: null, errorMessage: null }],
      },
    },
    { name: "other", body: "Sid=SM1&Status=teleported", expected: { ok: false, reason: "unsupported_event" } },
  ],
});

const basicShaped = defineProvider({
  id: "basic-shaped",
  config: providerEnv({ BASIC_SHAPED_USERNAME: envList(), BASIC_SHAPED_PASSWORD: envList() }),
  signature: (config) => {
    const pairs = pairBasicCredentials(config.BASIC_SHAPED_USERNAME, config.BASIC_SHAPED_PASSWORD);
    return useScheme(basicAuth, { credentials: typeof pairs === "string" ? [] : pairs });
  },
  extract: (payload, ctx) => (Array.isArray(payload) ? extracted(digestId(ctx.body), []) : malformed("not an array")),
});

runProviderConformance({
  definition: basicShaped,
  keys: [
    { username: "u1", password: "p1" },
    { username: "u2", password: "p2" },
    { username: "u1", password: "p3" },
  ],
  env: (keys) => (keys.length === 0 ? {} : { BASIC_SHAPED_USERNAME: keys.map((k) => k.username).join(","), BASIC_SHAPED_PASSWORD: keys.map((k) => k.password).join(",") }),
  sign: (key) => ({ authorization: basicAuthorization(key) }),
  covers: "none",
  fixtures: [{ name: "batch", body: "[]", expected: { ok: true, id: digestId(Buffer.from("[]")), events: [] } }],
});

const TOPIC = "arn:aws:sns:us-east-1:123456789012:shaped";
const certificates = [generateSnsTestCertificate(), generateSnsTestCertificate(), generateSnsTestCertificate()] as const;
const snsShaped = defineProvider({
  id: "sns-shaped",
  contentTypes: ["text/plain"],
  config: z.object({ SNS_SHAPED_TOPICS: envList() }),
  signature: (config) => useScheme(snsSignature, { topicArns: config.SNS_SHAPED_TOPICS }),
  handshake: snsHandshake,
  extract: (_payload, ctx) => extracted(ctx.deliveryId ?? "", []),
});

runProviderConformance({
  definition: snsShaped,
  // A "key" is a certificate AWS signs with; which ones are trusted is the allow-list's and
  // the topic's business, so "rotation" here is the topic list.
  keys: [TOPIC, `${TOPIC}-2`, `${TOPIC}-3`],
  env: (keys) => (keys.length === 0 ? {} : { SNS_SHAPED_TOPICS: keys.join(",") }),
  sign: (topic, body, { timestamp }) => {
    const message = JSON.parse(Buffer.from(body).toString()) as Record<string, unknown>;
    if (typeof message !== "object" || message === null || message.Type === undefined) return { headers: {}, body };
    const signed = signSnsMessage(certificates[0], { ...(message as unknown as UnsignedSnsEnvelope), TopicArn: topic, Timestamp: new Date(timestamp * 1000).toISOString() });
    return { headers: {}, body: Buffer.from(JSON.stringify(signed)) };
  },
  runtimeOptions: { fetch: createSnsTestFetch(certificates).fetch },
  covers: "none",
  expires: true,
  toleranceSeconds: 3600,
  unknownKeyReason: "not_allowed",
  fixtures: [{ name: "notification", deliveryId: "m-1", body: { Type: "Notification", MessageId: "m-1", Message: "{}" }, expected: { ok: true, id: "m-1", events: [] } }],
});
