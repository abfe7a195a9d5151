// Pure helpers shared by the k6 scenario and its test (apps/loadtest/src/k6.test.ts): no k6
// module is imported here, so Node can load this file too. Crypto is passed in.

/** Resend's event types with a delivery status, weighted like real traffic. */
export const RESEND_TYPES = ["email.sent", "email.sent", "email.delivered", "email.delivered", "email.delivered", "email.opened", "email.bounced"];

/** A Resend webhook body for email `emailId`, shaped like the real ones. */
export function resendBody(emailId, type, nowMs) {
  const data = {
    email_id: emailId,
    created_at: new Date(nowMs - 1000).toISOString(),
    from: "Acme <noreply@acme.test>",
    to: [`${emailId}@example.com`],
    subject: "Your code",
    tags: { kind: "otp" },
  };
  if (type === "email.bounced") data.bounce = { type: "Permanent", subType: "General", message: "550 5.1.1 user unknown" };
  return JSON.stringify({ type, created_at: new Date(nowMs).toISOString(), data });
}

/**
 * Standard Webhooks (Svix) headers for `body`: HMAC-SHA256 over `<id>.<timestamp>.<body>` with
 * the decoded `whsec_` secret. `hmacBase64(keyBytes, text)` is k6's crypto.hmac or Node's.
 */
export function signResend(hmacBase64, keyBytes, id, timestampSeconds, body) {
  return {
    "content-type": "application/json",
    "svix-id": id,
    "svix-timestamp": String(timestampSeconds),
    "svix-signature": `v1,${hmacBase64(keyBytes, `${id}.${timestampSeconds}.${body}`)}`,
  };
}

/** The key bytes of a `whsec_…` secret; `b64decode` turns standard base64 into bytes. */
export function decodeWhsec(b64decode, secret) {
  if (!secret || !secret.startsWith("whsec_")) throw new Error("RESEND_WEBHOOK_SECRET must be a whsec_ secret");
  return b64decode(secret.slice("whsec_".length));
}

/**
 * Checks a corpus written by `floodgate-loadtest corpus` and returns its requests.
 * Format: { format: "floodgate-k6-corpus", version: 1, createdAt, validUntil, requests: [{ provider, path, headers, body }] }.
 */
export function readCorpus(json) {
  const corpus = typeof json === "string" ? JSON.parse(json) : json;
  if (!corpus || corpus.format !== "floodgate-k6-corpus" || corpus.version !== 1) throw new Error("not a floodgate-k6-corpus version 1 file");
  if (!Array.isArray(corpus.requests) || corpus.requests.length === 0) throw new Error("corpus has no requests");
  for (const r of corpus.requests) {
    if (typeof r.path !== "string" || typeof r.body !== "string" || typeof r.headers !== "object") throw new Error("corpus request needs path, headers and body");
  }
  return corpus.requests;
}
