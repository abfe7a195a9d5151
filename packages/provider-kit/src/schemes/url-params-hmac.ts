import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { parse as parseQueryString, stringify as stringifyQueryString } from "node:querystring";
import { payloadOf } from "../body.js";
import { InvalidSchemeParamsError } from "../errors.js";
import { parseQuery, type FormParams } from "../form.js";
import { readHeader } from "../headers.js";
import { checkPublicUrl, normalizePublicUrl, publicUrlFor } from "../public-url.js";
import { VERIFIED, verifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** Parameters of the {@link urlParamsHmac} scheme. */
export interface UrlParamsHmacParams {
  /** Secrets (Twilio: the account Auth Token), used as UTF-8 bytes. Several for rotation. */
  secrets: readonly string[];
  /** `PUBLIC_URL`: the base URL the provider was given (see `public-url.ts`). */
  publicUrl: string;
  /** Header carrying the base64 signature, e.g. `x-twilio-signature`. */
  signatureHeader: string;
  /** Default `sha1` (Twilio, Mandrill). */
  algorithm?: "sha1" | "sha256";
  /**
   * Also try the URL with and without its port and with its query re-encoded the legacy
   * `querystring` way, as twilio-node does (providers.md §3). Default true.
   */
  urlVariants?: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DIGEST_BYTES = { sha1: 20, sha256: 32 } as const;

/**
 * The parameters part of the signed string: names in code-unit order, each `name + value`;
 * a repeated name's values de-duplicated and sorted (twilio-node `toFormUrlEncodedParam`).
 */
export function sortedParamsString(params: FormParams): string {
  const names = Object.keys(params).sort();
  let out = "";
  for (const name of names) {
    const value = params[name] as string | readonly string[];
    if (typeof value === "string") {
      out += name + value;
    } else {
      for (const v of [...new Set(value)].sort()) out += name + v;
    }
  }
  return out;
}

function withStandardPort(url: URL): string {
  if (url.port) return url.toString();
  const port = url.protocol === "https:" ? ":443" : ":80";
  const credentials = url.username || url.password ? `${url.username}${url.password ? `:${url.password}` : ""}@` : "";
  return `${url.protocol}//${credentials}${url.host}${port}${url.pathname}${url.search}${url.hash}`;
}

function withoutPort(url: URL): string {
  const copy = new URL(url.toString());
  copy.port = "";
  return copy.toString();
}

function withLegacyQuery(url: string): string {
  const parsed = new URL(url);
  if (!parsed.search) return url;
  const query = parseQueryString(parsed.search.slice(1), "&", "=", { maxKeys: 0 });
  parsed.search = "";
  return `${parsed.toString()}?${stringifyQueryString(query)}`;
}

/**
 * The URL forms twilio-node accepts a signature for: the URL as received first (the common
 * case costs one HMAC), then without its port, with the scheme's standard port, and both of
 * those with the query re-encoded by `node:querystring`.
 */
export function urlVariants(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const portForms = [withoutPort(parsed), withStandardPort(parsed)];
  const forms = [url, ...portForms];
  for (const form of portForms) {
    try {
      forms.push(withLegacyQuery(form));
    } catch {
      // A form that no longer parses has no legacy variant.
    }
  }
  return [...new Set(forms)];
}

/**
 * HMAC over the public URL the provider called followed by its sorted form parameters
 * (Twilio's `X-Twilio-Signature`; Mandrill signs the same way). A URL whose query carries
 * `bodySHA256` (Twilio's JSON-body webhooks) is signed alone, and the body's SHA-256 must
 * equal that value. There is no timestamp: replays are the ledger's to absorb.
 */
export const urlParamsHmac: SignatureScheme<UrlParamsHmacParams> = {
  name: "url-params-hmac",
  create(params: UrlParamsHmacParams): SignatureVerifier {
    const problem = checkPublicUrl(params.publicUrl);
    if (problem !== undefined) throw new InvalidSchemeParamsError("url-params-hmac", `publicUrl ${problem}`);
    const base = normalizePublicUrl(params.publicUrl);
    const algorithm = params.algorithm ?? "sha1";
    const digestBytes = DIGEST_BYTES[algorithm];
    const variants = params.urlVariants ?? true;
    const keys = params.secrets.map((secret, i) => {
      if (secret.length === 0) throw new InvalidSchemeParamsError("url-params-hmac", `secret #${i + 1} is empty`);
      return Buffer.from(secret, "utf8");
    });
    const { signatureHeader } = params;

    function verify(request: VerifyRequest): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no secret configured");
      const header = readHeader(request.headers, signatureHeader);
      if (typeof header !== "string") return header;
      if (!BASE64.test(header) || header.length % 4 !== 0) return verifyFailure("bad_encoding", `header ${signatureHeader} is not base64`);
      const given = Buffer.from(header, "base64");
      if (given.length !== digestBytes) return verifyFailure("bad_encoding", `header ${signatureHeader} is not ${digestBytes} bytes`);

      const url = publicUrlFor(base, request.url);
      let paramsPart: string;
      if (request.url.includes("bodySHA256=")) {
        const query = parseQuery(request.url);
        const hash = query.ok ? query.value.bodySHA256 : undefined;
        if (typeof hash !== "string") return verifyFailure("bad_encoding", "bodySHA256 is not one query parameter");
        const actual = createHash("sha256").update(request.body).digest("hex");
        if (hash.length !== actual.length || !timingSafeEqual(Buffer.from(hash.toLowerCase(), "latin1"), Buffer.from(actual, "latin1"))) {
          return verifyFailure("mismatch", "the body's SHA-256 does not match bodySHA256");
        }
        paramsPart = "";
      } else {
        const payload = payloadOf(request, "form");
        if (!payload.ok) return payload;
        paramsPart = sortedParamsString(payload.value as FormParams);
      }

      const attempt = (candidate: string): boolean => {
        for (let k = 0; k < keys.length; k++) {
          const expected = createHmac(algorithm, keys[k] as Buffer).update(candidate, "utf8").update(paramsPart, "utf8").digest();
          if (timingSafeEqual(expected, given)) return true;
        }
        return false;
      };
      if (attempt(url)) return VERIFIED;
      if (variants) {
        // Distinct forms only, the one already tried excluded.
        for (const candidate of urlVariants(url)) if (candidate !== url && attempt(candidate)) return VERIFIED;
      }
      return verifyFailure("mismatch", "signature does not match the public URL and parameters with any configured secret");
    }

    return { scheme: "url-params-hmac", keyCount: keys.length, readsPayload: "form", verify };
  },
};
