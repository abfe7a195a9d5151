import { randomUUID } from "node:crypto";
import {
  createStandardWebhooksSigner,
  generateEd25519TestKey,
  signEd25519Webhook,
  type Ed25519TestKey,
  type StandardWebhooksSigner,
} from "@floodgate/provider-kit/signing";

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

/** Development and load-test signing secrets, as environment variables. */
export interface SigningSecrets {
  TELNYX_PUBLIC_KEY: string;
  /** 32-byte Ed25519 seed, base64: the private half, known only to the load generator. */
  LOADTEST_TELNYX_PRIVATE_SEED: string;
  RESEND_WEBHOOK_SECRET: string;
}

/** Makes fresh signing secrets (the `keys` command writes these to `.env`). */
export function generateSigningSecrets(): SigningSecrets {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const key = generateEd25519TestKey(seed);
  const hmac = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
  return { TELNYX_PUBLIC_KEY: key.publicKey, LOADTEST_TELNYX_PRIVATE_SEED: Buffer.from(seed).toString("base64"), RESEND_WEBHOOK_SECRET: `whsec_${hmac}` };
}

/** Signs webhooks the way each provider does, with keys imported once. */
export interface WebhookSigner {
  telnyx(body: string, timestampSeconds?: number): Record<string, string>;
  resend(body: string, id?: string, timestampSeconds?: number): Record<string, string>;
}

export function createWebhookSigner(secrets: Pick<SigningSecrets, "LOADTEST_TELNYX_PRIVATE_SEED" | "RESEND_WEBHOOK_SECRET">): WebhookSigner {
  const key: Ed25519TestKey = generateEd25519TestKey(Buffer.from(secrets.LOADTEST_TELNYX_PRIVATE_SEED, "base64"));
  const svix: StandardWebhooksSigner = createStandardWebhooksSigner(secrets.RESEND_WEBHOOK_SECRET);
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  return {
    telnyx: (body, ts = nowSeconds()) => ({ "content-type": "application/json", ...signEd25519Webhook(key, body, ts) }),
    resend: (body, id = `msg_${randomUUID().replace(/-/g, "")}`, ts = nowSeconds()) => ({ "content-type": "application/json", ...svix.sign(body, { id, timestamp: ts }) }),
  };
}
