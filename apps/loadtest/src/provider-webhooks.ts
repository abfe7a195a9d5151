/**
 * Real-shaped webhooks of the SMS and e-mail providers beyond Telnyx and Resend, and signing
 * as each provider does: for the demo CLI, the traffic generator, the bench and the e2e tests.
 * One entry per provider: what a lifecycle step looks like, how to build its body, how to sign.
 */
import { createPrivateKey, randomBytes, randomUUID } from "node:crypto";
import {
  basicAuthorization,
  formBody,
  hmacOf,
  signEcdsaP256,
  signJwtHs256,
  signParamsDigest,
  signSnsMessage,
  signUrlNonce,
  signUrlParams,
  vonageJwtClaims,
  type EcdsaP256TestKey,
  type SnsTestCertificate,
} from "@floodgate/provider-kit/signing";

/** The generic lifecycle steps the traffic generator and the CLI speak. */
export type Step = "sent" | "delivered" | "failed" | "opened";

/** One status callback: the message (recipient row) it is about and the provider's own status. */
export interface DeliveryInput {
  messageId: string;
  to: string;
  /** The provider's own status string (see {@link ProviderProfile.statuses}). */
  status: string;
  /** Makes the webhook's event id stable (a provider retry); random by default. */
  eventId?: string;
  occurredAt?: Date;
}

/** A body and the `providerEventId`s it yields once normalized. */
export interface BuiltWebhook {
  body: string;
  eventIds: string[];
}

/** What the generator and the CLI need to know about a provider. */
export interface ProviderProfile {
  channel: "sms" | "email";
  /** The provider's status strings the CLI accepts. */
  statuses: readonly string[];
  /** The provider's status for each lifecycle step. */
  steps: Record<Step, string | undefined>;
  /** The recipient row's status once a step was applied (the step of a lifecycle that ends it). */
  final: Record<"delivered" | "failed", string>;
  build(input: DeliveryInput): BuiltWebhook;
  /** Several callbacks in one POST, for providers that batch (SendGrid, Bandwidth). */
  buildBatch?(inputs: DeliveryInput[]): BuiltWebhook;
}

const at = (input: DeliveryInput) => input.occurredAt ?? new Date();
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
/** `YYMMDDhhmm` in UTC, as carriers write it. */
const compact = (d: Date) => d.toISOString().slice(2, 16).replace(/[-T:]/g, "");
const hexId = (bytes = 16) => randomBytes(bytes).toString("hex");

function twilioBody(i: DeliveryInput): BuiltWebhook {
  const code = i.status === "undelivered" || i.status === "failed" ? "30003" : undefined;
  const params: Record<string, string> = {
    AccountSid: "AC00000000000000000000000000000001",
    ApiVersion: "2010-04-01",
    From: "+15555550001",
    MessageSid: i.messageId,
    MessageStatus: i.status,
    SmsSid: i.messageId,
    SmsStatus: i.status,
    To: i.to,
    ...(i.status === "delivered" || i.status === "undelivered" ? { RawDlrDoneDate: compact(at(i)) } : {}),
    ...(code ? { ErrorCode: code } : {}),
  };
  return { body: formBody(params), eventIds: [[i.messageId, i.status, code].filter(Boolean).join(":")] };
}

function plivoBody(i: DeliveryInput): BuiltWebhook {
  const code = ["undelivered", "failed", "rejected"].includes(i.status) ? "30" : "000";
  const params = { From: "14155550199", To: i.to, MessageUUID: i.messageId, Status: i.status, ErrorCode: code, Units: "1", TotalRate: "0.0035", TotalAmount: "0.0035", MessageTime: at(i).toISOString().slice(0, 19).replace("T", " ") };
  return { body: formBody(params), eventIds: [[i.messageId, i.status, code === "000" ? undefined : code].filter(Boolean).join(":")] };
}

function vonageBody(i: DeliveryInput): BuiltWebhook {
  const scts = compact(at(i));
  const params = { msisdn: i.to, to: "AcmeInc", "network-code": "23410", messageId: i.messageId, price: "0.03330000", status: i.status, scts, "err-code": i.status === "failed" ? "1" : "0", "api-key": "abcd1234", "message-timestamp": at(i).toISOString().slice(0, 19).replace("T", " ") };
  return { body: formBody(params), eventIds: [`${i.messageId}:${i.status}:${scts}`] };
}

const SINCH_CODES: Record<string, number> = { Queued: 400, Dispatched: 401, Delivered: 0, Aborted: 402, Cancelled: 403, Rejected: 404, Deleted: 405, Failed: 406, Expired: 407, Unknown: 408 };

function sinchBody(i: DeliveryInput): BuiltWebhook {
  const code = SINCH_CODES[i.status] ?? 408;
  const body = { type: "recipient_delivery_report_sms", batch_id: i.messageId, recipient: i.to, code, status: i.status, at: at(i).toISOString(), operator_status_at: at(i).toISOString(), client_reference: "loadtest" };
  return { body: JSON.stringify(body), eventIds: [`${i.messageId}:${i.to}:${code}`] };
}

function bandwidthItem(i: DeliveryInput) {
  return {
    type: i.status,
    time: at(i).toISOString(),
    description: i.status === "message-failed" ? "rejected-unallocated-from-number" : "ok",
    to: i.to,
    ...(i.status === "message-failed" ? { errorCode: 4432 } : {}),
    message: { id: i.messageId, owner: "+15555550001", applicationId: "93de2206-9669-4e07-948d-329f4b722ee2", time: at(i).toISOString(), segmentCount: 1, direction: "out", to: [i.to], from: "+15555550001", text: "", tag: "loadtest" },
  };
}

function bandwidthBatch(inputs: DeliveryInput[]): BuiltWebhook {
  return { body: JSON.stringify(inputs.map(bandwidthItem)), eventIds: inputs.map((i) => `${i.messageId}:${i.status}:${i.to}`) };
}

function sendgridItem(i: DeliveryInput & { eventId: string }) {
  const extra: Record<string, unknown> =
    i.status === "bounce" ? { type: "bounce", status: "5.1.1", reason: "550 5.1.1 The email account does not exist" } : i.status === "delivered" ? { response: "250 2.0.0 OK" } : {};
  return { email: i.to, timestamp: seconds(at(i)), event: i.status, sg_event_id: i.eventId, sg_message_id: `${i.messageId}.filterdrecv-loadtest-0.0`, "smtp-id": `<${i.messageId}@ismtpd0001p1.sendgrid.net>`, category: ["loadtest"], ...extra };
}

function sendgridBatch(inputs: DeliveryInput[]): BuiltWebhook {
  const items = inputs.map((i) => sendgridItem({ ...i, eventId: i.eventId ?? randomBytes(24).toString("base64url") }));
  // SendGrid separates items with CRLF and ends the body with one.
  return { body: `[${items.map((x) => JSON.stringify(x)).join(",\r\n")}]\r\n`, eventIds: items.map((x) => x.sg_event_id) };
}

function postmarkBody(i: DeliveryInput): BuiltWebhook {
  const time = at(i).toISOString();
  const common = { ServerID: 23, MessageStream: "outbound", MessageID: i.messageId, Tag: "loadtest", Metadata: {} };
  let body: Record<string, unknown>;
  if (i.status === "Bounce") {
    body = { RecordType: "Bounce", ID: 42, Type: "HardBounce", TypeCode: 1, Name: "Hard bounce", ...common, Description: "Unknown user", Details: "smtp;550 5.1.1 user unknown", Email: i.to, From: "noreply@acme.test", BouncedAt: time, Inactive: true, CanActivate: true, Subject: "Your code" };
  } else if (i.status === "Open") {
    body = { RecordType: "Open", ...common, Recipient: i.to, ReceivedAt: time, FirstOpen: true, Platform: "Desktop", UserAgent: "loadtest" };
  } else {
    body = { RecordType: i.status, ...common, Recipient: i.to, DeliveredAt: time, Details: "loadtest" };
  }
  return { body: JSON.stringify(body), eventIds: [`${String(body.RecordType)}:${i.messageId}:${i.to}:${time}`] };
}

function mailgunBody(i: DeliveryInput): BuiltWebhook {
  const id = i.eventId ?? randomBytes(16).toString("base64url");
  const [event, severity] = i.status.split("/") as [string, string | undefined];
  const data: Record<string, unknown> = {
    id,
    event,
    timestamp: at(i).getTime() / 1000,
    recipient: i.to,
    "recipient-domain": i.to.split("@")[1] ?? "",
    message: { headers: { "message-id": i.messageId, subject: "Your code" } },
    ...(event === "failed" ? { severity: severity ?? "permanent", reason: "bounce", "delivery-status": { code: 550, message: "5.1.1 The email account does not exist", description: "" } } : {}),
    ...(event === "delivered" ? { "delivery-status": { code: 250, message: "OK", "attempt-no": 1 } } : {}),
  };
  // The signature object is filled in when signing (a fresh token each time).
  return { body: JSON.stringify({ "event-data": data }), eventIds: [id] };
}

function sesBody(i: DeliveryInput): BuiltWebhook {
  const messageId = i.eventId ?? randomUUID();
  const time = at(i).toISOString();
  const mail = { timestamp: time, source: "noreply@acme.test", messageId: i.messageId, destination: [i.to] };
  const event: Record<string, unknown> = { eventType: i.status, mail };
  if (i.status === "Delivery") event.delivery = { timestamp: time, recipients: [i.to], smtpResponse: "250 2.0.0 OK", processingTimeMillis: 100 };
  if (i.status === "Bounce") event.bounce = { bounceType: "Permanent", bounceSubType: "General", bouncedRecipients: [{ emailAddress: i.to, action: "failed", status: "5.1.1", diagnosticCode: "smtp; 550 5.1.1 user unknown" }], timestamp: time, feedbackId: hexId(8) };
  if (i.status === "Open") event.open = { timestamp: time, userAgent: "loadtest", ipAddress: "127.0.0.1" };
  if (i.status === "Send") event.send = {};
  // The SNS envelope; TopicArn, Timestamp and the signature are set when signing.
  const envelope = { Type: "Notification", MessageId: messageId, TopicArn: "", Subject: "Amazon SES Email Event Notification", Message: JSON.stringify(event), Timestamp: time };
  return { body: JSON.stringify(envelope), eventIds: [`${messageId}:${i.to}`] };
}

/** The providers beyond Telnyx and Resend, by id. */
export const PROVIDER_PROFILES = {
  twilio: {
    channel: "sms",
    statuses: ["accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "canceled", "partially_delivered"],
    steps: { sent: "sent", delivered: "delivered", failed: "undelivered", opened: undefined },
    final: { delivered: "delivered", failed: "failed" },
    build: twilioBody,
  },
  plivo: {
    channel: "sms",
    statuses: ["queued", "sent", "delivered", "undelivered", "failed", "rejected"],
    steps: { sent: "sent", delivered: "delivered", failed: "undelivered", opened: undefined },
    final: { delivered: "delivered", failed: "failed" },
    build: plivoBody,
  },
  vonage: {
    channel: "sms",
    statuses: ["accepted", "buffered", "delivered", "expired", "failed", "rejected", "unknown"],
    steps: { sent: "accepted", delivered: "delivered", failed: "failed", opened: undefined },
    final: { delivered: "delivered", failed: "failed" },
    build: vonageBody,
  },
  sinch: {
    channel: "sms",
    statuses: Object.keys(SINCH_CODES),
    steps: { sent: "Dispatched", delivered: "Delivered", failed: "Failed", opened: undefined },
    final: { delivered: "delivered", failed: "failed" },
    build: sinchBody,
  },
  bandwidth: {
    channel: "sms",
    statuses: ["message-sending", "message-delivered", "message-failed"],
    steps: { sent: "message-sending", delivered: "message-delivered", failed: "message-failed", opened: undefined },
    final: { delivered: "delivered", failed: "failed" },
    build: (i) => bandwidthBatch([i]),
    buildBatch: bandwidthBatch,
  },
  sendgrid: {
    channel: "email",
    statuses: ["processed", "deferred", "delivered", "dropped", "bounce", "spamreport", "open", "click", "unsubscribe", "group_unsubscribe"],
    steps: { sent: "processed", delivered: "delivered", failed: "bounce", opened: "open" },
    final: { delivered: "delivered", failed: "bounced" },
    build: (i) => sendgridBatch([i]),
    buildBatch: sendgridBatch,
  },
  postmark: {
    channel: "email",
    statuses: ["Delivery", "Bounce", "Open"],
    steps: { sent: undefined, delivered: "Delivery", failed: "Bounce", opened: "Open" },
    final: { delivered: "delivered", failed: "bounced" },
    build: postmarkBody,
  },
  mailgun: {
    channel: "email",
    statuses: ["accepted", "delivered", "failed/permanent", "failed/temporary", "rejected", "opened", "clicked", "complained", "unsubscribed"],
    steps: { sent: "accepted", delivered: "delivered", failed: "failed/permanent", opened: "opened" },
    final: { delivered: "delivered", failed: "bounced" },
    build: mailgunBody,
  },
  ses: {
    channel: "email",
    statuses: ["Send", "Delivery", "DeliveryDelay", "Bounce", "Complaint", "Reject", "Open", "Click", "Subscription"],
    steps: { sent: "Send", delivered: "Delivery", failed: "Bounce", opened: "Open" },
    final: { delivered: "delivered", failed: "bounced" },
    build: sesBody,
  },
} satisfies Record<string, ProviderProfile>;

export type ExtraProvider = keyof typeof PROVIDER_PROFILES;

/** The secrets of the providers beyond Telnyx and Resend, and the private halves the generator signs with. */
export interface ExtraSigningSecrets {
  /** The base URL "given to the providers"; Twilio and Plivo sign it. */
  PUBLIC_URL: string;
  TWILIO_AUTH_TOKEN: string;
  PLIVO_AUTH_TOKEN: string;
  VONAGE_SIGNATURE_SECRET: string;
  VONAGE_SIGNATURE_METHOD: string;
  SINCH_WEBHOOK_SECRET: string;
  BANDWIDTH_WEBHOOK_USERNAME: string;
  BANDWIDTH_WEBHOOK_PASSWORD: string;
  SENDGRID_WEBHOOK_PUBLIC_KEY: string;
  /** PKCS#8 DER, base64: the SendGrid key's private half. */
  LOADTEST_SENDGRID_PRIVATE_KEY: string;
  POSTMARK_WEBHOOK_USERNAME: string;
  POSTMARK_WEBHOOK_PASSWORD: string;
  MAILGUN_WEBHOOK_SIGNING_KEY: string;
  SES_SNS_TOPIC_ARNS: string;
  /** The test SNS certificate: its URL, PEM (base64) and private key (PKCS#8 DER, base64). */
  LOADTEST_SNS_CERT_URL: string;
  LOADTEST_SNS_CERT_PEM: string;
  LOADTEST_SNS_PRIVATE_KEY: string;
}

/** The gateway's environment variables among {@link ExtraSigningSecrets} (the private halves excluded). */
export const EXTRA_GATEWAY_VARIABLES = [
  "PUBLIC_URL",
  "TWILIO_AUTH_TOKEN",
  "PLIVO_AUTH_TOKEN",
  "VONAGE_SIGNATURE_SECRET",
  "VONAGE_SIGNATURE_METHOD",
  "SINCH_WEBHOOK_SECRET",
  "BANDWIDTH_WEBHOOK_USERNAME",
  "BANDWIDTH_WEBHOOK_PASSWORD",
  "SENDGRID_WEBHOOK_PUBLIC_KEY",
  "POSTMARK_WEBHOOK_USERNAME",
  "POSTMARK_WEBHOOK_PASSWORD",
  "MAILGUN_WEBHOOK_SIGNING_KEY",
  "SES_SNS_TOPIC_ARNS",
] as const satisfies readonly (keyof ExtraSigningSecrets)[];

/** A signed request: headers, and the body when signing changed it (Mailgun, Vonage, SES). */
export interface SignedWebhook {
  headers: Record<string, string>;
  body: string;
}

export interface ExtraSignOptions {
  /** Path and query the gateway will receive (Twilio and Plivo sign it behind PUBLIC_URL). */
  path: string;
  timestampSeconds?: number;
}

/** Signs webhooks of the providers beyond Telnyx and Resend with `secrets` (keys imported once, on first use). */
export function createExtraSigner(secrets: Partial<ExtraSigningSecrets>) {
  const need = (name: keyof ExtraSigningSecrets): string => {
    const value = secrets[name];
    if (!value) throw new Error(`${name} is not set (run \`floodgate-loadtest keys\`)`);
    return value.split(",")[0]!.trim();
  };
  let sendgridKey: EcdsaP256TestKey | undefined;
  let snsCertificate: SnsTestCertificate | undefined;
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  return function sign(provider: ExtraProvider, body: string, options: ExtraSignOptions): SignedWebhook {
    const ts = options.timestampSeconds ?? nowSeconds();
    const bytes = Buffer.from(body, "utf8");
    switch (provider) {
      case "twilio": {
        const params = Object.fromEntries(new URLSearchParams(body));
        return { headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signUrlParams(need("TWILIO_AUTH_TOKEN"), need("PUBLIC_URL") + options.path, params) }, body };
      }
      case "plivo": {
        const nonce = String(BigInt(`0x${hexId(8)}`));
        const params = Object.fromEntries(new URLSearchParams(body));
        return {
          headers: { "content-type": "application/x-www-form-urlencoded", "x-plivo-signature-v3": signUrlNonce(need("PLIVO_AUTH_TOKEN"), need("PUBLIC_URL") + options.path, params, nonce), "x-plivo-signature-v3-nonce": nonce },
          body,
        };
      }
      case "vonage": {
        if (body.startsWith("{") && body.includes('"message_uuid"')) {
          return { headers: { "content-type": "application/json", authorization: `Bearer ${signJwtHs256(need("VONAGE_SIGNATURE_SECRET"), vonageJwtClaims(bytes, ts))}` }, body };
        }
        const params = { ...Object.fromEntries(new URLSearchParams(body)), timestamp: String(ts), nonce: hexId(8) };
        const sig = signParamsDigest(need("VONAGE_SIGNATURE_SECRET"), need("VONAGE_SIGNATURE_METHOD") as "sha256", params);
        return { headers: { "content-type": "application/x-www-form-urlencoded" }, body: formBody({ ...params, sig }) };
      }
      case "sinch": {
        const nonce = hexId(13);
        return {
          headers: {
            "content-type": "application/json",
            "x-sinch-webhook-signature": hmacOf("sha256", need("SINCH_WEBHOOK_SECRET"), [bytes, `.${nonce}.${ts}`]).toString("base64"),
            "x-sinch-webhook-signature-timestamp": String(ts),
            "x-sinch-webhook-signature-nonce": nonce,
            "x-sinch-webhook-signature-algorithm": "HmacSHA256",
          },
          body,
        };
      }
      case "bandwidth":
        return { headers: { "content-type": "application/json", authorization: basicAuthorization({ username: need("BANDWIDTH_WEBHOOK_USERNAME"), password: need("BANDWIDTH_WEBHOOK_PASSWORD") }) }, body };
      case "postmark":
        return { headers: { "content-type": "application/json", authorization: basicAuthorization({ username: need("POSTMARK_WEBHOOK_USERNAME"), password: need("POSTMARK_WEBHOOK_PASSWORD") }) }, body };
      case "sendgrid": {
        sendgridKey ??= {
          publicKey: need("SENDGRID_WEBHOOK_PUBLIC_KEY"),
          privateKey: createPrivateKey({ key: Buffer.from(need("LOADTEST_SENDGRID_PRIVATE_KEY"), "base64"), format: "der", type: "pkcs8" }),
        };
        return {
          headers: { "content-type": "application/json", "x-twilio-email-event-webhook-signature": signEcdsaP256(sendgridKey, ts, bytes), "x-twilio-email-event-webhook-timestamp": String(ts) },
          body,
        };
      }
      case "mailgun": {
        const token = hexId(25);
        const signature = { timestamp: String(ts), token, signature: hmacOf("sha256", need("MAILGUN_WEBHOOK_SIGNING_KEY"), [String(ts), token]).toString("hex") };
        return { headers: { "content-type": "application/json" }, body: JSON.stringify({ signature, ...JSON.parse(body) }) };
      }
      case "ses": {
        snsCertificate ??= {
          url: need("LOADTEST_SNS_CERT_URL"),
          pem: Buffer.from(need("LOADTEST_SNS_CERT_PEM"), "base64").toString("utf8"),
          privateKey: createPrivateKey({ key: Buffer.from(need("LOADTEST_SNS_PRIVATE_KEY"), "base64"), format: "der", type: "pkcs8" }),
          region: "us-east-1",
        };
        const envelope = JSON.parse(body) as Parameters<typeof signSnsMessage>[1];
        const signed = signSnsMessage(snsCertificate, { ...envelope, TopicArn: need("SES_SNS_TOPIC_ARNS"), Timestamp: new Date(ts * 1000).toISOString() });
        return { headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": signed.Type, "x-amz-sns-message-id": signed.MessageId, "x-amz-sns-topic-arn": signed.TopicArn }, body: JSON.stringify(signed) };
      }
    }
  };
}
