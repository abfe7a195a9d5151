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

// ---------------------------------------------------------------------------------------------
// The providers k6 can sign itself (HMAC and Basic): every function takes the crypto it needs,
// so k6 passes k6/crypto and k6/encoding and the staleness test passes Node's.
//   hmac(algorithm, key, data, encoding) → "hex" | "base64" string;  md5(data) → hex string;
//   b64(text) → standard base64.

/** Providers whose requests this script signs in-process; the others come from the corpus. */
export const SIGNED_HERE = ["resend", "twilio", "plivo", "vonage", "sinch", "bandwidth", "postmark", "mailgun"];

/** `application/x-www-form-urlencoded` with spaces as `+`. */
export function formEncode(params) {
  return Object.keys(params)
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k])}`.replace(/%20/g, "+"))
    .join("&");
}

const sortedConcat = (params) => Object.keys(params).sort().map((k) => k + params[k]).join("");

/** Twilio status callback, `X-Twilio-Signature` = HMAC-SHA1(token, PUBLIC_URL + path + sorted name+value). */
export function twilioRequest(hmac, publicUrl, token, messageId, to, status) {
  const params = { AccountSid: "AC00000000000000000000000000000001", ApiVersion: "2010-04-01", From: "+15555550001", MessageSid: messageId, MessageStatus: status, To: to };
  const path = "/webhooks/twilio";
  return { provider: "twilio", path, body: formEncode(params), headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": hmac("sha1", token, publicUrl + path + sortedConcat(params), "base64") } };
}

/** Plivo status callback, signature V3 = HMAC-SHA256(token, PUBLIC_URL + path + "?" + sorted name+value + "." + nonce). */
export function plivoRequest(hmac, publicUrl, token, nonce, messageId, to, status) {
  const params = { From: "14155550199", To: to, MessageUUID: messageId, Status: status, ErrorCode: "000" };
  const path = "/webhooks/plivo";
  const signature = hmac("sha256", token, `${publicUrl}${path}?${sortedConcat(params)}.${nonce}`, "base64");
  return { provider: "plivo", path, body: formEncode(params), headers: { "content-type": "application/x-www-form-urlencoded", "x-plivo-signature-v3": signature, "x-plivo-signature-v3-nonce": nonce } };
}

/** Vonage delivery receipt with `timestamp`, `nonce` and `sig` (method sha256/sha1/sha512/md5 = HMAC, md5hash = MD5). */
export function vonageRequest(hmac, md5, secret, method, nonce, timestampSeconds, messageId, to, status) {
  const params = { msisdn: to, to: "AcmeInc", messageId, status, scts: "2503011000", "err-code": status === "failed" ? "1" : "0", timestamp: String(timestampSeconds), nonce };
  const signed = Object.keys(params).sort().map((k) => `&${k}=${String(params[k]).replace(/[&=]/g, "_")}`).join("");
  const sig = method === "md5hash" ? md5(signed + secret) : hmac(method, secret, signed, "hex");
  return { provider: "vonage", path: "/webhooks/vonage", body: formEncode({ ...params, sig }), headers: { "content-type": "application/x-www-form-urlencoded" } };
}

/** Sinch delivery report, HMAC-SHA256(secret, body + "." + nonce + "." + timestamp), base64. */
export function sinchRequest(hmac, secret, nonce, timestampSeconds, batchId, to, status) {
  const body = JSON.stringify({ type: "recipient_delivery_report_sms", batch_id: batchId, recipient: to, code: status === "Delivered" ? 0 : 401, status, at: new Date(timestampSeconds * 1000).toISOString() });
  return {
    provider: "sinch",
    path: "/webhooks/sinch",
    body,
    headers: {
      "content-type": "application/json",
      "x-sinch-webhook-signature": hmac("sha256", secret, `${body}.${nonce}.${timestampSeconds}`, "base64"),
      "x-sinch-webhook-signature-timestamp": String(timestampSeconds),
      "x-sinch-webhook-signature-nonce": nonce,
    },
  };
}

/** Bandwidth callback (a JSON array) with Basic credentials. */
export function bandwidthRequest(b64, username, password, messageId, to, type, nowMs) {
  const time = new Date(nowMs).toISOString();
  const body = JSON.stringify([{ type, time, description: "ok", to, message: { id: messageId, owner: "+15555550001", time, direction: "out", to: [to], from: "+15555550001" } }]);
  return { provider: "bandwidth", path: "/webhooks/bandwidth", body, headers: { "content-type": "application/json", authorization: `Basic ${b64(`${username}:${password}`)}` } };
}

/** Postmark Delivery webhook with Basic credentials. */
export function postmarkRequest(b64, username, password, messageId, to, nowMs) {
  const body = JSON.stringify({ RecordType: "Delivery", ServerID: 23, MessageStream: "outbound", MessageID: messageId, Recipient: to, DeliveredAt: new Date(nowMs).toISOString(), Details: "k6" });
  return { provider: "postmark", path: "/webhooks/postmark", body, headers: { "content-type": "application/json", authorization: `Basic ${b64(`${username}:${password}`)}` } };
}

/** Mailgun webhook, the signature object (HMAC-SHA256 hex of timestamp + token) inside the body. */
export function mailgunRequest(hmac, key, token, timestampSeconds, eventId, messageId, to, event) {
  const signature = { timestamp: String(timestampSeconds), token, signature: hmac("sha256", key, `${timestampSeconds}${token}`, "hex") };
  const body = JSON.stringify({ signature, "event-data": { id: eventId, event, timestamp: timestampSeconds, recipient: to, message: { headers: { "message-id": messageId } } } });
  return { provider: "mailgun", path: "/webhooks/mailgun", body, headers: { "content-type": "application/json" } };
}

/** A random hex string of `bytes` bytes from `randomBytes(n)` (an ArrayBuffer or a Buffer). */
export function hexOf(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}
