import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  createStandardWebhooksSigner,
  generateEcdsaP256TestKey,
  generateEd25519TestKey,
  generateSnsTestCertificate,
  signEd25519Webhook,
  type Ed25519TestKey,
  type StandardWebhooksSigner,
} from "@floodgate/provider-kit/signing";
import {
  createExtraSigner,
  EXTRA_GATEWAY_VARIABLES,
  PROVIDER_PROFILES,
  type ExtraProvider,
  type ExtraSigningSecrets,
  type SignedWebhook,
} from "./provider-webhooks.js";

export { PROVIDER_PROFILES, type ExtraProvider, type SignedWebhook, type DeliveryInput, type Step, type ProviderProfile } from "./provider-webhooks.js";

/** Every provider the gateway serves, Telnyx and Resend first. */
export const PROVIDERS = ["telnyx", "resend", ...(Object.keys(PROVIDER_PROFILES) as ExtraProvider[])] as const;
export type ProviderName = "telnyx" | "resend" | ExtraProvider;

/** Whether `name` is one of {@link PROVIDERS}. */
export function isProviderName(name: string): name is ProviderName {
  return (PROVIDERS as readonly string[]).includes(name);
}

/** Telnyx `to[].status` values a delivery webhook can carry. */
export const TELNYX_STATUSES = ["queued", "sending", "sent", "delivered", "delivery_unconfirmed", "delivery_failed", "sending_failed", "expired"] as const;
export type TelnyxStatus = (typeof TELNYX_STATUSES)[number];

/** Resend delivery event types. */
export const RESEND_TYPES = [
  "email.scheduled",
  "email.sent",
  "email.delivered",
  "email.delivery_delayed",
  "email.bounced",
  "email.complained",
  "email.opened",
  "email.clicked",
  "email.failed",
  "email.suppressed",
] as const;
export type ResendType = (typeof RESEND_TYPES)[number];

export interface TelnyxWebhookInput {
  eventId?: string;
  messageId: string;
  /** One entry per recipient; a multi-recipient send carries several. */
  to: { phone: string; status: TelnyxStatus }[];
  occurredAt?: Date;
}

/** A Telnyx messaging webhook body shaped like the real ones (`message.sent` / `message.finalized`). */
export function telnyxBody(input: TelnyxWebhookInput): string {
  const finalized = input.to.some((t) => !["queued", "sending", "sent"].includes(t.status));
  const failed = input.to.some((t) => t.status.includes("failed") || t.status === "expired");
  const occurredAt = (input.occurredAt ?? new Date()).toISOString();
  return JSON.stringify({
    data: {
      record_type: "event",
      id: input.eventId ?? randomUUID(),
      event_type: finalized ? "message.finalized" : "message.sent",
      occurred_at: occurredAt,
      payload: {
        record_type: "message",
        id: input.messageId,
        direction: "outbound",
        type: "SMS",
        from: { phone_number: "+15555550001", carrier: "TELNYX LLC", line_type: "VoIP" },
        to: input.to.map((t) => ({ phone_number: t.phone, status: t.status, carrier: "T-MOBILE USA, INC.", line_type: "Wireless" })),
        cc: [],
        text: "Your code is 123456",
        parts: 1,
        errors: failed ? [{ code: "40008", title: "Undeliverable", detail: "The message was not delivered." }] : [],
        received_at: occurredAt,
        sent_at: occurredAt,
        completed_at: finalized ? occurredAt : null,
      },
    },
    meta: { attempt: 1, delivered_to: "http://127.0.0.1/webhooks/telnyx" },
  });
}

export interface ResendWebhookInput {
  emailId: string;
  type: ResendType;
  to: string;
  occurredAt?: Date;
}

/** A Resend webhook body shaped like the real ones. */
export function resendBody(input: ResendWebhookInput): string {
  const data: Record<string, unknown> = {
    email_id: input.emailId,
    created_at: new Date((input.occurredAt ?? new Date()).getTime() - 1000).toISOString(),
    from: "Acme <noreply@acme.test>",
    to: [input.to],
    subject: "Your code",
    tags: { kind: "otp" },
  };
  if (input.type === "email.bounced") data.bounce = { type: "Permanent", subType: "General", message: "550 5.1.1 user unknown" };
  if (input.type === "email.failed") data.failed = { reason: "invalid sender domain" };
  if (input.type === "email.suppressed") data.suppressed = { type: "bounce", message: "address is on the suppression list" };
  if (input.type === "email.clicked") data.click = { ipAddress: "127.0.0.1", link: "https://acme.test/x", timestamp: new Date().toISOString(), userAgent: "loadtest" };
  return JSON.stringify({ type: input.type, created_at: (input.occurredAt ?? new Date()).toISOString(), data });
}

/** Development and load-test signing secrets, as environment variables: every provider's. */
export interface SigningSecrets extends ExtraSigningSecrets {
  TELNYX_PUBLIC_KEY: string;
  /** 32-byte Ed25519 seed, base64: the private half, known only to the load generator. */
  LOADTEST_TELNYX_PRIVATE_SEED: string;
  RESEND_WEBHOOK_SECRET: string;
}

const random = (bytes: number, encoding: BufferEncoding = "base64url") => randomBytes(bytes).toString(encoding);

/**
 * Makes fresh signing secrets (the `keys` command writes these to `.env`): every provider's,
 * with the private halves the generator signs with. The SNS certificate is self-signed: a
 * gateway only accepts it with the test fetch stub preloaded (`sns-fetch-stub.mjs`).
 */
export function generateSigningSecrets(): SigningSecrets {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const key = generateEd25519TestKey(seed);
  const hmac = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
  const sendgrid = generateEcdsaP256TestKey();
  const sns = generateSnsTestCertificate();
  return {
    TELNYX_PUBLIC_KEY: key.publicKey,
    LOADTEST_TELNYX_PRIVATE_SEED: Buffer.from(seed).toString("base64"),
    RESEND_WEBHOOK_SECRET: `whsec_${hmac}`,
    PUBLIC_URL: "https://hooks.floodgate.test",
    TWILIO_AUTH_TOKEN: random(16, "hex"),
    PLIVO_AUTH_TOKEN: random(20),
    VONAGE_SIGNATURE_SECRET: random(24),
    VONAGE_SIGNATURE_METHOD: "sha256",
    SINCH_WEBHOOK_SECRET: random(24),
    BANDWIDTH_WEBHOOK_USERNAME: "floodgate",
    BANDWIDTH_WEBHOOK_PASSWORD: random(18),
    SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey,
    LOADTEST_SENDGRID_PRIVATE_KEY: sendgrid.privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
    POSTMARK_WEBHOOK_USERNAME: "floodgate",
    POSTMARK_WEBHOOK_PASSWORD: random(18),
    MAILGUN_WEBHOOK_SIGNING_KEY: `key-${random(16, "hex")}`,
    SES_SNS_TOPIC_ARNS: "arn:aws:sns:us-east-1:123456789012:floodgate-ses",
    LOADTEST_SNS_CERT_URL: sns.url,
    LOADTEST_SNS_CERT_PEM: Buffer.from(sns.pem).toString("base64"),
    LOADTEST_SNS_PRIVATE_KEY: sns.privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
  };
}

/**
 * The gateway environment configuring every provider beyond Telnyx and Resend with `secrets`,
 * plus what the SNS test stub needs (a gateway started with {@link SNS_FETCH_STUB} preloaded
 * serves the test certificate instead of fetching AWS's).
 */
export function extraGatewayEnv(secrets: SigningSecrets): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of EXTRA_GATEWAY_VARIABLES) env[name] = secrets[name];
  env.FLOODGATE_TEST_SNS_CERTIFICATES = JSON.stringify({ [secrets.LOADTEST_SNS_CERT_URL]: Buffer.from(secrets.LOADTEST_SNS_CERT_PEM, "base64").toString("utf8") });
  return env;
}

/** A preload (`node --import <this>`) that answers SNS certificate and confirmation fetches offline; tests and the bench only. */
export const SNS_FETCH_STUB = fileURLToPath(new URL("./sns-fetch-stub.mjs", import.meta.url));

/** Signs webhooks the way each provider does, with keys imported once. */
export interface WebhookSigner {
  telnyx(body: string, timestampSeconds?: number): Record<string, string>;
  resend(body: string, id?: string, timestampSeconds?: number): Record<string, string>;
  /**
   * Any other provider: the headers, and the body as sent (Mailgun, Vonage receipts and SES
   * carry their signature inside it). `path` is the path and query the gateway receives.
   */
  sign(provider: ExtraProvider, body: string, options: { path: string; timestampSeconds?: number }): SignedWebhook;
}

/** Creates a signer; each provider's key is needed (and imported) only when that provider is signed. */
export function createWebhookSigner(secrets: Partial<SigningSecrets>): WebhookSigner {
  let key: Ed25519TestKey | undefined;
  let svix: StandardWebhooksSigner | undefined;
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const need = (name: "LOADTEST_TELNYX_PRIVATE_SEED" | "RESEND_WEBHOOK_SECRET") => {
    const value = secrets[name];
    if (!value) throw new Error(`${name} is not set (run \`floodgate-loadtest keys\`)`);
    return value;
  };
  return {
    telnyx(body, ts = nowSeconds()) {
      key ??= generateEd25519TestKey(Buffer.from(need("LOADTEST_TELNYX_PRIVATE_SEED"), "base64"));
      return { "content-type": "application/json", ...signEd25519Webhook(key, body, ts) };
    },
    resend(body, id = `msg_${randomUUID().replace(/-/g, "")}`, ts = nowSeconds()) {
      svix ??= createStandardWebhooksSigner(need("RESEND_WEBHOOK_SECRET"));
      return { "content-type": "application/json", ...svix.sign(body, { id, timestamp: ts }) };
    },
    sign: createExtraSigner(secrets),
  };
}

/** A request ready to send: path, headers and the exact body. */
export interface SignedRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Signs `body` for `provider` as a fresh delivery (a fresh signature, timestamp and token: what
 * a provider's retry of the same event looks like too). `deliveryId` is Resend's `svix-id`.
 */
export function signedRequest(signer: WebhookSigner, provider: ProviderName, body: string, options: { deliveryId?: string; timestampSeconds?: number; query?: string } = {}): SignedRequest {
  const path = `/webhooks/${provider}${options.query ? `?${options.query}` : ""}`;
  if (provider === "telnyx") return { path, headers: signer.telnyx(body, options.timestampSeconds), body };
  if (provider === "resend") return { path, headers: signer.resend(body, options.deliveryId, options.timestampSeconds), body };
  const signed = signer.sign(provider, body, { path, timestampSeconds: options.timestampSeconds });
  return { path, headers: signed.headers, body: signed.body };
}
