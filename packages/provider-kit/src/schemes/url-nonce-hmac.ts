import { createHmac, timingSafeEqual } from "node:crypto";
import { payloadOf } from "../body.js";
import { InvalidSchemeParamsError } from "../errors.js";
import { formValues, parseForm, type FormParams } from "../form.js";
import { readHeader } from "../headers.js";
import { checkPublicUrl, normalizePublicUrl, publicUrlFor } from "../public-url.js";
import { VERIFIED, verifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** Parameters of the {@link urlNonceHmac} scheme. */
export interface UrlNonceHmacParams {
  /** Secrets (Plivo: the Auth Token), used as UTF-8 bytes. Several for rotation. */
  secrets: readonly string[];
  /** `PUBLIC_URL`: the base URL the provider was given. */
  publicUrl: string;
  /** Header with one or more comma-separated base64 signatures, e.g. `x-plivo-signature-v3`. */
  signatureHeader: string;
  /** Header with the nonce, e.g. `x-plivo-signature-v3-nonce`. */
  nonceHeader: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const SHA256_BYTES = 32;
/** At most this many comma-separated signatures are read (one per active token at Plivo). */
const MAX_SIGNATURES = 8;
const MAX_NONCE_LENGTH = 256;

/** `k=v` pairs sorted by name, then each name's values sorted, joined with `&` (decoded, not re-encoded). */
function sortedQueryString(query: FormParams): string {
  const pairs: string[] = [];
  for (const name of Object.keys(query).sort()) {
    for (const value of [...formValues(query, name)].sort()) pairs.push(`${name}=${value}`);
  }
  return pairs.join("&");
}

/** Names sorted, each name's values sorted, `name + value` with no separators. */
function sortedParamsString(params: FormParams): string {
  let out = "";
  for (const name of Object.keys(params).sort()) {
    for (const value of [...formValues(params, name)].sort()) out += name + value;
  }
  return out;
}

/**
 * The string Plivo's signature V3 covers for a POST, before `"." + nonce`: the URL without its
 * query; then `?` and the sorted query if there is a query or there are body parameters; then
 * `.` if there are both; then the sorted body parameters (plivo-node `construct_post_url`).
 */
export function plivoV3BaseString(url: string, body: FormParams): string | undefined {
  const hash = url.indexOf("#");
  const withoutFragment = hash === -1 ? url : url.slice(0, hash);
  const q = withoutFragment.indexOf("?");
  const base = q === -1 ? withoutFragment : withoutFragment.slice(0, q);
  const query = q === -1 ? { ok: true as const, value: {} as FormParams } : parseForm(withoutFragment.slice(q + 1));
  if (!query.ok) return undefined;
  const queryString = sortedQueryString(query.value);
  const hasBody = Object.keys(body).length > 0;
  let out = base;
  if (queryString.length > 0 || hasBody) out += `?${queryString}`;
  if (queryString.length > 0 && hasBody) out += ".";
  return out + sortedParamsString(body);
}

/**
 * HMAC-SHA256 over the public URL, the sorted form parameters and a nonce, base64, several
 * comma-separated signatures allowed in the header (Plivo signature V3). There is no
 * timestamp, so the nonce cannot be remembered for a bounded window: replays are absorbed by
 * the ledger's dedup on the event id.
 */
export const urlNonceHmac: SignatureScheme<UrlNonceHmacParams> = {
  name: "url-nonce-hmac",
  create(params: UrlNonceHmacParams): SignatureVerifier {
    const problem = checkPublicUrl(params.publicUrl);
    if (problem !== undefined) throw new InvalidSchemeParamsError("url-nonce-hmac", `publicUrl ${problem}`);
    const base = normalizePublicUrl(params.publicUrl);
    const keys = params.secrets.map((secret, i) => {
      if (secret.length === 0) throw new InvalidSchemeParamsError("url-nonce-hmac", `secret #${i + 1} is empty`);
      return Buffer.from(secret, "utf8");
    });
    const { signatureHeader, nonceHeader } = params;

    function verify(request: VerifyRequest): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no secret configured");
      const header = readHeader(request.headers, signatureHeader);
      if (typeof header !== "string") return header;
      const nonce = readHeader(request.headers, nonceHeader);
      if (typeof nonce !== "string") return nonce;
      if (nonce.length > MAX_NONCE_LENGTH) return verifyFailure("bad_encoding", `header ${nonceHeader} is longer than ${MAX_NONCE_LENGTH} characters`);
      const entries = header.split(",", MAX_SIGNATURES + 1);
      if (entries.length > MAX_SIGNATURES) return verifyFailure("bad_encoding", `header ${signatureHeader} has more than ${MAX_SIGNATURES} signatures`);
      const given: Buffer[] = [];
      for (const entry of entries) {
        const value = entry.trim();
        if (!BASE64.test(value) || value.length % 4 !== 0) return verifyFailure("bad_encoding", `header ${signatureHeader} is not comma-separated base64`);
        const bytes = Buffer.from(value, "base64");
        if (bytes.length === SHA256_BYTES) given.push(bytes);
      }
      if (given.length === 0) return verifyFailure("bad_encoding", `header ${signatureHeader} holds no 32-byte signature`);
      const payload = payloadOf(request, "form");
      if (!payload.ok) return payload;
      const signed = plivoV3BaseString(publicUrlFor(base, request.url), payload.value as FormParams);
      if (signed === undefined) return verifyFailure("bad_encoding", "the URL's query has a bad %-escape");
      for (let k = 0; k < keys.length; k++) {
        const expected = createHmac("sha256", keys[k] as Buffer).update(signed, "utf8").update(".").update(nonce, "utf8").digest();
        for (let s = 0; s < given.length; s++) if (timingSafeEqual(expected, given[s] as Buffer)) return VERIFIED;
      }
      return verifyFailure("mismatch", "no signature matches the public URL, parameters and nonce with any configured secret");
    }

    return { scheme: "url-nonce-hmac", keyCount: keys.length, readsPayload: "form", verify };
  },
};
