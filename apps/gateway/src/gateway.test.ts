import { ProviderConfigError } from "@floodgate/provider-kit";
import { generateEd25519TestKey, generateStandardWebhooksSecret } from "@floodgate/provider-kit/testing";
import { createLogger } from "@floodgate/service";
import { pino } from "pino";
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

  it("accepts TELNYX_WEBHOOK_SECRET as an alias of TELNYX_PUBLIC_KEY, warning with the preferred name", () => {
    const lines: string[] = [];
    const capture = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const runtimes = buildProviders(providers, { TELNYX_WEBHOOK_SECRET: telnyxKey }, capture);
    expect(runtimes.map((r) => r.id)).toEqual(["telnyx"]);
    const warning = lines.map((l) => JSON.parse(l) as { msg: string; variable?: string; preferred?: string }).find((l) => l.variable === "TELNYX_WEBHOOK_SECRET");
    expect(warning).toMatchObject({ preferred: "TELNYX_PUBLIC_KEY" });
    expect(warning!.msg).toMatch(/set TELNYX_PUBLIC_KEY instead/);
    expect(JSON.stringify(lines)).not.toContain(telnyxKey);
    // A wrong value under the alias stops the boot like a wrong TELNYX_PUBLIC_KEY would.
    expect(() => buildProviders(providers, { TELNYX_WEBHOOK_SECRET: "not-a-key", RESEND_WEBHOOK_SECRET: resendSecret }, log)).toThrow(/TELNYX_PUBLIC_KEY \(set as TELNYX_WEBHOOK_SECRET\)/);
  });

  it("serves all eleven providers when each is configured, and leaves each out alone when its own variables are unset", () => {
    const all: Record<string, string> = {
      TELNYX_PUBLIC_KEY: telnyxKey,
      RESEND_WEBHOOK_SECRET: resendSecret,
      PUBLIC_URL: "https://hooks.example.com",
      TWILIO_AUTH_TOKEN: "t",
      VONAGE_SIGNATURE_SECRET: "v",
      VONAGE_SIGNATURE_METHOD: "sha256",
      PLIVO_AUTH_TOKEN: "p",
      SINCH_WEBHOOK_SECRET: "s",
      BANDWIDTH_WEBHOOK_USERNAME: "u",
      BANDWIDTH_WEBHOOK_PASSWORD: "w",
      SENDGRID_WEBHOOK_PUBLIC_KEY: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
      POSTMARK_WEBHOOK_USERNAME: "u",
      POSTMARK_WEBHOOK_PASSWORD: "w",
      MAILGUN_WEBHOOK_SIGNING_KEY: "key-x",
      SES_SNS_TOPIC_ARNS: "arn:aws:sns:us-east-1:123456789012:ses-events",
    };
    const ids = ["telnyx", "resend", "twilio", "plivo", "sinch", "bandwidth", "sendgrid", "postmark", "mailgun", "vonage", "ses"];
    expect(buildProviders(providers, all, log).map((r) => r.id).sort()).toEqual([...ids].sort());
    const own: Record<string, string[]> = {
      twilio: ["TWILIO_AUTH_TOKEN"],
      plivo: ["PLIVO_AUTH_TOKEN"],
      vonage: ["VONAGE_SIGNATURE_SECRET", "VONAGE_SIGNATURE_METHOD"],
      sinch: ["SINCH_WEBHOOK_SECRET"],
      bandwidth: ["BANDWIDTH_WEBHOOK_USERNAME", "BANDWIDTH_WEBHOOK_PASSWORD"],
      sendgrid: ["SENDGRID_WEBHOOK_PUBLIC_KEY"],
      postmark: ["POSTMARK_WEBHOOK_USERNAME", "POSTMARK_WEBHOOK_PASSWORD"],
      mailgun: ["MAILGUN_WEBHOOK_SIGNING_KEY"],
      ses: ["SES_SNS_TOPIC_ARNS"],
    };
    for (const [id, variables] of Object.entries(own)) {
      const env = Object.fromEntries(Object.entries(all).filter(([k]) => !variables.includes(k)));
      expect(buildProviders(providers, env, log).map((r) => r.id), id).not.toContain(id);
      // Half of a pair, or a URL-signing provider without PUBLIC_URL, stops the boot instead.
      if (variables.length === 2) expect(() => buildProviders(providers, { ...env, [variables[0]!]: all[variables[0]!]! }, log), id).toThrow(ProviderConfigError);
    }
    const { PUBLIC_URL: _url, ...withoutPublicUrl } = all;
    expect(() => buildProviders(providers, withoutPublicUrl, log)).toThrow(/PUBLIC_URL/);
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
    const m = createGatewayMetrics(["telnyx", "resend"]);
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

describe("gateway metrics: bounded whatever arrives", () => {
  const series = async (m: ReturnType<typeof createGatewayMetrics>) => (await m.registry.metrics()).split("\n").filter((l) => l.startsWith("webhook_")).length;

  it("labels only configured providers, known codes and reasons, and a bounded number of types", async () => {
    const m = createGatewayMetrics(["telnyx", "resend"]);
    m.observe({ outcome: "unknown_provider", status: 404 }, 0.001);
    m.observe({ outcome: "invalid_signature", status: 401, provider: "telnyx", reason: "mismatch" }, 0.001);
    m.observe({ outcome: "accepted", status: 202, provider: "telnyx", type: "message.sent", events: 1 }, 0.001);
    const before = await series(m);
    for (let i = 0; i < 1000; i++) {
      const junk = `x${i}-${Math.random()}`;
      m.observe({ outcome: "unknown_provider", status: 404, provider: junk }, 0.001);
      m.observe({ outcome: "invalid_signature", status: 401, provider: "telnyx", reason: junk }, 0.001);
      m.observe({ outcome: "accepted", status: 202, provider: "telnyx", type: "message.sent", events: 1 }, 0.001);
    }
    expect(await series(m)).toBe(before + 1); // one new series: reason="other"
    // Types beyond the cap per provider become "other".
    for (let i = 0; i < 500; i++) m.observe({ outcome: "accepted", status: 202, provider: "resend", type: `t${i}`, events: 1 }, 0.001);
    const text = await m.registry.metrics();
    expect(text).toContain('webhook_queued_total{provider="resend",type="other"}');
    expect(text.match(/webhook_queued_total\{provider="resend"/g)!.length).toBeLessThanOrEqual(65);
  });

  it("counts what is kept in the dead letters by reason, whole webhooks and parts", async () => {
    const m = createGatewayMetrics(["resend"]);
    m.observe({ outcome: "dead_lettered", status: 202, provider: "resend", reason: "unsupported_event" }, 0.001);
    m.observe({ outcome: "dead_lettered", status: 202, provider: "resend", reason: "malformed" }, 0.001);
    m.observe({ outcome: "accepted", status: 202, provider: "resend", type: "email.sent", events: 2, unmapped: [{ reason: "unsupported_event" }, { reason: "unsupported_event" }] }, 0.001);
    const text = await m.registry.metrics();
    expect(text).toContain('webhook_unsupported_total{provider="resend",reason="unsupported_event"} 3');
    expect(text).toContain('webhook_unsupported_total{provider="resend",reason="malformed"} 1');
    expect(text).not.toContain("webhook_rejected_total{");
  });
});
