import { createVerify } from "node:crypto";
import { payloadOf } from "../body.js";
import { InvalidSchemeParamsError } from "../errors.js";
import { parseIsoTimestamp } from "../extract.js";
import { checkTimestamp, isValidTolerance } from "../timestamp.js";
import { handshakeDone, handshakeFailed, type HandshakeContext, type HandshakeResult } from "../handshake.js";
import { isPromise, verifyFailure, type MaybePromise, type VerifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import { createCertificateCache, type CachedCertificate } from "./certificates.js";
import { defaultServices, type FetchLike, type SignatureScheme, type SignatureVerifier } from "./scheme.js";

/** The SNS message types. */
export type SnsMessageType = "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation";

/** An SNS HTTP(S) message body, its fields as strings. */
export interface SnsEnvelope {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
  UnsubscribeURL?: string;
}

/** Parameters of the {@link snsSignature} scheme. */
export interface SnsSignatureParams {
  /** Topic ARNs accepted; a message from any other topic is `not_allowed` (anyone can point a topic of theirs at us). */
  topicArns: readonly string[];
  /** How far the signed `Timestamp` may be from the clock, seconds; default 3600 (SNS retries for at most an hour). */
  toleranceSeconds?: number;
  /** Certificate fetch deadline, ms; default 5000. */
  fetchTimeoutMs?: number;
  /** Certificates cached; default 64. */
  maxCertificates?: number;
}

/** Hosts SNS signing certificates may come from (the aws-js-sns-message-validator default). */
export const SNS_CERTIFICATE_HOST = /^sns\.([a-zA-Z0-9-]{3,})\.amazonaws\.com(\.cn)?$/;
const TOPIC_ARN = /^arn:aws(?:-[a-z]+)*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_.-]{1,256}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"] as const;
const CONFIRMATION_KEYS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"] as const;
const TYPES: ReadonlySet<string> = new Set(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]);

/** Returns why `value` is not an SNS topic ARN, or `undefined` if it is. */
export function checkSnsTopicArn(value: string): string | undefined {
  return TOPIC_ARN.test(value) ? undefined : "is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)";
}

/** The region of an SNS topic ARN, or `undefined`. */
export function snsTopicRegion(arn: string): string | undefined {
  return TOPIC_ARN.exec(arn)?.[1];
}

/**
 * Returns why `url` may not be fetched for an SNS message of `region`, or `undefined` if it
 * may: `https:`, no credentials or port, a host `sns.<region>.amazonaws.com[.cn]` of the
 * topic's own region, and (for a certificate) a path ending in `.pem`.
 */
export function checkSnsUrl(url: string, region: string | undefined, kind: "certificate" | "subscribe"): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "https:") return "is not https";
  if (parsed.username !== "" || parsed.password !== "" || parsed.port !== "") return "has credentials or a port";
  const host = SNS_CERTIFICATE_HOST.exec(parsed.hostname);
  if (host === null) return `host ${parsed.hostname} is not sns.<region>.amazonaws.com`;
  if (region !== undefined && host[1] !== region) return `host ${parsed.hostname} is not in the topic's region ${region}`;
  if (kind === "certificate" && !parsed.pathname.endsWith(".pem")) return "does not end in .pem";
  return undefined;
}

/**
 * Reads an SNS body as an envelope: every field the signature covers must be a string.
 * Returns why not, as a verify failure.
 */
export function readSnsEnvelope(value: unknown): { ok: true; envelope: SnsEnvelope } | VerifyFailure {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return verifyFailure("bad_encoding", "body is not an SNS message object");
  const m = value as Record<string, unknown>;
  if (typeof m.Type !== "string" || !TYPES.has(m.Type)) return verifyFailure("bad_encoding", "Type is not an SNS message type");
  const keys = m.Type === "Notification" ? NOTIFICATION_KEYS : CONFIRMATION_KEYS;
  for (const key of [...keys, "SignatureVersion", "Signature", "SigningCertURL"]) {
    if (key === "Subject" && (m.Subject === undefined || m.Subject === null)) continue;
    if (typeof m[key] !== "string") return verifyFailure("missing_header", `${key} is missing or not a string`);
  }
  // A copy of the known fields only: the body's own keys (an `ok`, say) never reach a result.
  const envelope: SnsEnvelope = {
    Type: m.Type as SnsMessageType,
    MessageId: m.MessageId as string,
    TopicArn: m.TopicArn as string,
    Message: m.Message as string,
    Timestamp: m.Timestamp as string,
    SignatureVersion: m.SignatureVersion as string,
    Signature: m.Signature as string,
    SigningCertURL: m.SigningCertURL as string,
  };
  for (const key of ["Subject", "Token", "SubscribeURL", "UnsubscribeURL"] as const) {
    if (typeof m[key] === "string") envelope[key] = m[key] as string;
  }
  return { ok: true, envelope };
}

/**
 * The string an SNS signature covers: for each signed key present, `key\nvalue\n`, in the fixed
 * order (Notification: Message, MessageId, Subject, Timestamp, TopicArn, Type; the
 * confirmations: Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type).
 */
export function snsStringToSign(envelope: SnsEnvelope): string {
  const keys = envelope.Type === "Notification" ? NOTIFICATION_KEYS : CONFIRMATION_KEYS;
  let out = "";
  for (const key of keys) {
    const value = envelope[key];
    if (typeof value === "string") out += `${key}\n${value}\n`;
  }
  return out;
}

/**
 * Amazon SNS message signatures: RSA PKCS#1 v1.5 with SHA-1 (`SignatureVersion` 1) or SHA-256
 * (2) over the canonical fields, with the X.509 certificate at `SigningCertURL`. In order: the
 * topic must be allowed (`not_allowed`), the signed `Timestamp` inside the tolerance, the
 * certificate URL on the allow-list (`untrusted_key`), the certificate fetched (or cached;
 * `key_unavailable` when AWS cannot be reached, which the provider retries) and valid now,
 * and the signature must match. A success carries the SNS `MessageId` as the delivery id.
 * Verification is synchronous once the certificate is cached.
 */
export const snsSignature: SignatureScheme<SnsSignatureParams> = {
  name: "sns",
  create(params: SnsSignatureParams, services): SignatureVerifier {
    for (const [i, arn] of params.topicArns.entries()) {
      const problem = checkSnsTopicArn(arn);
      if (problem !== undefined) throw new InvalidSchemeParamsError("sns", `topic #${i + 1} ${problem}`);
    }
    const topics: ReadonlySet<string> = new Set(params.topicArns);
    const tolerance = params.toleranceSeconds ?? 3600;
    if (!isValidTolerance(tolerance)) throw new InvalidSchemeParamsError("sns", `toleranceSeconds ${tolerance} is not a non-negative integer`);
    const certificates = createCertificateCache({ fetch: (services ?? defaultServices()).fetch, timeoutMs: params.fetchTimeoutMs, capacity: params.maxCertificates });

    function check(envelope: SnsEnvelope, certificate: CachedCertificate, signature: Buffer, nowMs: number): VerifyResult {
      if (nowMs < certificate.notBefore || nowMs > certificate.notAfter) return verifyFailure("untrusted_key", "the signing certificate is not valid now");
      const algorithm = envelope.SignatureVersion === "1" ? "RSA-SHA1" : "RSA-SHA256";
      const ok = createVerify(algorithm).update(snsStringToSign(envelope), "utf8").verify(certificate.key, signature);
      return ok ? { ok: true, id: envelope.MessageId } : verifyFailure("mismatch", "the SNS signature does not match the certificate");
    }

    function verify(request: VerifyRequest, nowMs: number) {
      if (topics.size === 0) return verifyFailure("no_secret", "no SNS topic ARN configured");
      const parsed = payloadOf(request, "json");
      if (!parsed.ok) return parsed;
      const read = readSnsEnvelope(parsed.value);
      if (!read.ok) return read;
      const envelope = read.envelope;
      if (envelope.SignatureVersion !== "1" && envelope.SignatureVersion !== "2") return verifyFailure("bad_encoding", `SignatureVersion ${envelope.SignatureVersion} is not 1 or 2`);
      if (!BASE64.test(envelope.Signature) || envelope.Signature.length % 4 !== 0 || envelope.Signature.length > 2048) return verifyFailure("bad_encoding", "Signature is not base64");
      if (!topics.has(envelope.TopicArn)) return verifyFailure("not_allowed", `topic ${envelope.TopicArn} is not one of SES_SNS_TOPIC_ARNS`);
      const at = parseIsoTimestamp(envelope.Timestamp);
      if (at === undefined) return verifyFailure("bad_encoding", "Timestamp is not an ISO-8601 time");
      const stale = checkTimestamp(Math.floor(at / 1000), nowMs, tolerance);
      if (stale !== undefined) return stale;
      const problem = checkSnsUrl(envelope.SigningCertURL, snsTopicRegion(envelope.TopicArn), "certificate");
      if (problem !== undefined) return verifyFailure("untrusted_key", `SigningCertURL ${problem}`);
      const signature = Buffer.from(envelope.Signature, "base64");
      const certificate = certificates.get(envelope.SigningCertURL, nowMs);
      if (isPromise(certificate)) {
        return certificate.then((c) => ("key" in c ? check(envelope, c, signature, nowMs) : c));
      }
      return "key" in certificate ? check(envelope, certificate, signature, nowMs) : certificate;
    }

    return { scheme: "sns", keyCount: topics.size, readsPayload: "json", verify };
  },
};

/**
 * Confirms an SNS subscription: a GET on the (verified) `SubscribeURL`, which must be an SNS
 * endpoint of the topic's region, through the injectable `fetch`. Never call it for a message
 * that was not verified and whose topic is not allowed: `snsHandshake` is the only caller.
 */
export async function confirmSnsSubscription(envelope: SnsEnvelope, fetchFn: FetchLike, timeoutMs = 5000): Promise<HandshakeResult> {
  const url = envelope.SubscribeURL ?? "";
  const problem = checkSnsUrl(url, snsTopicRegion(envelope.TopicArn), "subscribe");
  if (problem !== undefined) return handshakeFailed(`SubscribeURL ${problem}; the subscription was not confirmed`);
  try {
    const response = await fetchFn(url, { method: "GET", redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return handshakeFailed(`confirming the subscription to ${envelope.TopicArn} answered HTTP ${response.status}`);
  } catch (error) {
    return handshakeFailed(`confirming the subscription to ${envelope.TopicArn} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return handshakeDone(envelope.MessageId, `SubscriptionConfirmation for ${envelope.TopicArn} confirmed`);
}

/**
 * The SNS handshake, as a provider's `handshake` hook. It runs only after `snsSignature`
 * verified the message, which includes the topic allow-list: `SubscriptionConfirmation` is
 * then confirmed (a GET on `SubscribeURL`), `UnsubscribeConfirmation` is noted (answered and
 * logged: nothing more will arrive from that subscription), and a `Notification` goes on to
 * the provider's `extract`.
 */
export function snsHandshake(payload: unknown, context: HandshakeContext): MaybePromise<HandshakeResult> | undefined {
  const read = readSnsEnvelope(payload);
  if (!read.ok || read.envelope.Type === "Notification") return undefined;
  const envelope = read.envelope;
  if (envelope.Type === "UnsubscribeConfirmation") {
    return handshakeDone(envelope.MessageId, `UnsubscribeConfirmation for ${envelope.TopicArn}: the subscription was removed and will deliver nothing more`);
  }
  return confirmSnsSubscription(envelope, context.fetch);
}
