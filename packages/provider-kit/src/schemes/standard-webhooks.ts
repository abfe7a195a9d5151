import { createHmac, timingSafeEqual } from "node:crypto";
import { InvalidSchemeParamsError } from "../errors.js";
import { readFirstHeader } from "../headers.js";
import { checkTimestamp, isValidTolerance, parseTimestampSeconds } from "../timestamp.js";
import { verifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** Parameters of the {@link standardWebhooks} scheme. */
export interface StandardWebhooksParams {
  /** `whsec_<base64>` secrets (the prefix is optional). Several for rotation; empty means fail closed. */
  secrets: readonly string[];
  /** Accepted clock skew, seconds, both ways; default 300 as in the Svix and Standard Webhooks libraries. */
  toleranceSeconds?: number;
  /** Header name prefixes in order of preference; default `["svix-", "webhook-"]` (branded wins). */
  headerPrefixes?: readonly string[];
}

/** Default tolerance of the Standard Webhooks libraries, seconds. */
export const STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MIN_SECRET_BYTES = 16;
const MAX_SECRET_BYTES = 128;
const MAX_ID_LENGTH = 256;
const SHA256_BYTES = 32;

/**
 * Returns why `value` is not a usable Standard Webhooks secret, or `undefined` if it is.
 * Use it in a provider's config schema so errors name the environment variable.
 */
export function checkStandardWebhooksSecret(value: string): string | undefined {
  const encoded = value.startsWith(SECRET_PREFIX) ? value.slice(SECRET_PREFIX.length) : value;
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return "is not whsec_ followed by standard padded base64";
  const bytes = Buffer.from(encoded, "base64").length;
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    return `decodes to ${bytes} bytes, expected ${MIN_SECRET_BYTES}..${MAX_SECRET_BYTES}`;
  }
  return undefined;
}

/** Decodes a `whsec_` secret to its HMAC key bytes. */
export function decodeStandardWebhooksSecret(value: string): Buffer {
  const problem = checkStandardWebhooksSecret(value);
  if (problem !== undefined) throw new InvalidSchemeParamsError("standard-webhooks", `secret ${problem}`);
  return Buffer.from(value.startsWith(SECRET_PREFIX) ? value.slice(SECRET_PREFIX.length) : value, "base64");
}

/** A message id goes into the signed string and the idempotency key: visible ASCII only. */
function isValidMessageId(id: string): boolean {
  if (id.length > MAX_ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Collects the decoded `v1,` entries of a space-separated signature header. Other versions
 * (`v1a`, `v2`, ...) are ignored, as the spec requires; entries of the wrong length are kept
 * out so that `timingSafeEqual` is only ever called on equal lengths.
 */
function collectV1Signatures(header: string): Buffer[] {
  const found: Buffer[] = [];
  let start = 0;
  const length = header.length;
  while (start < length) {
    let end = header.indexOf(" ", start);
    if (end === -1) end = length;
    if (end - start > 3 && header.startsWith("v1,", start)) {
      const encoded = header.slice(start + 3, end);
      if (BASE64.test(encoded)) {
        const decoded = Buffer.from(encoded, "base64");
        if (decoded.length === SHA256_BYTES) found.push(decoded);
      }
    }
    start = end + 1;
  }
  return found;
}

/**
 * Standard Webhooks / Svix: HMAC-SHA256 over `<id>.<timestamp>.<raw body>`, base64, in a
 * space-separated `v1,<sig>` list. HMAC keys are decoded once at `create`; the body is fed to
 * the HMAC without copying. A success carries the message id (`svix-id`), the idempotency key.
 */
export const standardWebhooks: SignatureScheme<StandardWebhooksParams> = {
  name: "standard-webhooks",
  create(params: StandardWebhooksParams): SignatureVerifier {
    const toleranceSeconds = params.toleranceSeconds ?? STANDARD_WEBHOOKS_TOLERANCE_SECONDS;
    if (!isValidTolerance(toleranceSeconds)) {
      throw new InvalidSchemeParamsError("standard-webhooks", `toleranceSeconds ${toleranceSeconds} is not a non-negative integer`);
    }
    const keys = params.secrets.map((secret, i) => {
      try {
        return decodeStandardWebhooksSecret(secret);
      } catch (cause) {
        throw new InvalidSchemeParamsError("standard-webhooks", `secret #${i + 1} ${checkStandardWebhooksSecret(secret) ?? "is unusable"}`, { cause });
      }
    });
    const prefixes = params.headerPrefixes ?? ["svix-", "webhook-"];
    if (prefixes.length === 0) throw new InvalidSchemeParamsError("standard-webhooks", "headerPrefixes is empty");
    const idHeaders = prefixes.map((p) => `${p}id`);
    const timestampHeaders = prefixes.map((p) => `${p}timestamp`);
    const signatureHeaders = prefixes.map((p) => `${p}signature`);

    function verify(request: VerifyRequest, nowMs: number): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no Standard Webhooks secret configured");
      const headers = request.headers;
      const id = readFirstHeader(headers, idHeaders);
      if (typeof id !== "string") return id;
      const timestamp = readFirstHeader(headers, timestampHeaders);
      if (typeof timestamp !== "string") return timestamp;
      const signature = readFirstHeader(headers, signatureHeaders);
      if (typeof signature !== "string") return signature;
      if (!isValidMessageId(id)) return verifyFailure("bad_encoding", "message id is not 1-256 visible ASCII characters");
      const seconds = parseTimestampSeconds(timestamp, timestampHeaders[0] as string);
      if (typeof seconds !== "number") return seconds;
      const stale = checkTimestamp(seconds, nowMs, toleranceSeconds);
      if (stale !== undefined) return stale;
      const candidates = collectV1Signatures(signature);
      if (candidates.length === 0) return verifyFailure("mismatch", "no well-formed v1 signature in the header");
      for (let k = 0; k < keys.length; k++) {
        const expected = createHmac("sha256", keys[k] as Buffer)
          .update(id, "latin1")
          .update(".")
          .update(timestamp, "latin1")
          .update(".")
          .update(request.body)
          .digest();
        for (let c = 0; c < candidates.length; c++) {
          if (timingSafeEqual(expected, candidates[c] as Buffer)) return { ok: true, id };
        }
      }
      return verifyFailure("mismatch", "no v1 signature matches any configured secret");
    }

    return { scheme: "standard-webhooks", keyCount: keys.length, verify };
  },
};
