import { envValue } from "./config.js";

/**
 * The URL a provider called, for schemes that sign it (Twilio, Plivo).
 *
 * Floodgate never trusts `Host` or `X-Forwarded-*` for this: the operator configures
 * `PUBLIC_URL`, the base URL given to the providers (`https://hooks.example.com`, or with a
 * path prefix, `https://example.com/floodgate`), and the URL a provider signed is that base
 * followed by the request's path and query **exactly as the gateway received them**.
 *
 * The rule for a reverse proxy or load balancer in front of the gateway: pass the request's
 * path and query through byte for byte (no decoding, re-encoding, slash merging or query
 * reordering). It may strip a path prefix, as long as `PUBLIC_URL` ends with that prefix;
 * it must not add one. Scheme, host and port are whatever `PUBLIC_URL` says, so TLS can end
 * at the proxy and the gateway can listen on any port.
 */

/**
 * Returns why `value` is not a usable public base URL, or `undefined` if it is: an absolute
 * `http:` or `https:` URL with a host, and no query or fragment (those belong to the request).
 */
export function checkPublicUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http: or https: URL";
  if (url.hostname === "") return "has no host";
  if (value.includes("?") || value.includes("#")) return "must not have a query or fragment";
  if (/\s/.test(value)) return "must not contain whitespace";
  return undefined;
}

/** The configured base without trailing slashes, otherwise exactly as configured. */
export function normalizePublicUrl(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0x2f) end--;
  return value.slice(0, end);
}

/**
 * The URL the provider called: `base` (a normalized `PUBLIC_URL`) followed by the request's
 * path and query as received (`/webhooks/twilio?x=1`).
 */
export function publicUrlFor(base: string, requestUrl: string): string {
  return requestUrl.charCodeAt(0) === 0x2f ? base + requestUrl : `${base}/${requestUrl}`;
}

/**
 * A zod schema for `PUBLIC_URL`: one base URL, checked with {@link checkPublicUrl} and
 * normalized with {@link normalizePublicUrl}. Put it in the *shared* part of a provider's
 * `providerEnv` so a provider that is not configured does not complain about it.
 */
export function publicUrlVar() {
  return envValue(checkPublicUrl).transform(normalizePublicUrl);
}
