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
