import { ProviderConfigError } from "@floodgate/provider-kit";
import { generateEd25519TestKey, generateStandardWebhooksSecret } from "@floodgate/provider-kit/testing";
import { createLogger } from "@floodgate/service";
import { describe, expect, it } from "vitest";
import { readGatewayEnv } from "./env.js";
import { buildProviders } from "./gateway.js";
import { createGatewayMetrics } from "./metrics.js";
import { providers } from "./providers.js";

const log = createLogger("test", "silent");

describe("buildProviders", () => {
  const telnyxKey = generateEd25519TestKey().publicKey;
  const resendSecret = generateStandardWebhooksSecret();

  it("serves every provider whose secrets are set", () => {
    const runtimes = buildProviders(providers, { TELNYX_PUBLIC_KEY: telnyxKey, RESEND_WEBHOOK_SECRET: resendSecret }, log);
    expect(runtimes.map((r) => r.id)).toEqual(["telnyx", "resend"]);
  });

  it("leaves out a provider whose secrets are absent", () => {
    expect(buildProviders(providers, { RESEND_WEBHOOK_SECRET: resendSecret }, log).map((r) => r.id)).toEqual(["resend"]);
  });

  it("refuses to boot on a secret that is set but wrong, or with no provider at all", () => {
    expect(() => buildProviders(providers, { TELNYX_PUBLIC_KEY: "not-a-key", RESEND_WEBHOOK_SECRET: resendSecret }, log)).toThrow(ProviderConfigError);
    expect(() => buildProviders(providers, {}, log)).toThrow(/no provider is configured/);
  });
});

describe("gateway env", () => {
  it("has defaults that work on this machine", () => {
    expect(readGatewayEnv({})).toMatchObject({ PORT: 3000, METRICS_PORT: 6001, NATS_URL: "nats://127.0.0.1:4222", GATEWAY_HTTP: "node", PUBLISH_TIMEOUT_MS: 1500 });
  });

  it("rejects a mistake with the variable's name", () => {
    expect(() => readGatewayEnv({ PORT: "http", GATEWAY_HTTP: "fastify" })).toThrow(/PORT: expected an integer[\s\S]*GATEWAY_HTTP/);
  });
});

describe("gateway metrics", () => {
  it("counts received, queued, duplicates and rejections with bounded labels", async () => {
    const m = createGatewayMetrics();
    m.observe({ outcome: "accepted", status: 202, provider: "telnyx", type: "message.finalized", events: 3 }, 0.002);
    m.observe({ outcome: "duplicate", status: 200, provider: "telnyx", type: "message.finalized" }, 0.001);
    m.observe({ outcome: "invalid_signature", status: 401, provider: "resend", reason: "mismatch" }, 0.001);
    m.observe({ outcome: "queue_unavailable", status: 503, provider: "resend", type: "email.sent", reason: "QueueUnavailableError" }, 1.5);
    m.observe({ outcome: "unknown_provider", status: 404 }, 0.0001);
    const text = await m.registry.metrics();
    expect(text).toContain('webhook_received_total{provider="telnyx",type="message.finalized"} 2');
    expect(text).toContain('webhook_queued_total{provider="telnyx",type="message.finalized"} 1');
    expect(text).toContain('webhook_queued_events_total{provider="telnyx"} 3');
    expect(text).toContain('webhook_duplicate_total{provider="telnyx",type="message.finalized"} 1');
    expect(text).toContain('webhook_rejected_total{provider="resend",reason="mismatch"} 1');
    expect(text).toContain('webhook_rejected_total{provider="resend",reason="queue_unavailable"} 1');
    expect(text).toContain('webhook_rejected_total{provider="unknown",reason="unknown_provider"} 1');
    expect(text).toContain('webhook_response_duration_seconds_bucket{le="0.0025",provider="telnyx",code="202"} 1');
  });
});
