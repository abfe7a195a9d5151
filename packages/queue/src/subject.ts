// Anything else (dots, wildcards, whitespace) would add tokens or wildcards to the subject and
// route the message outside `<prefix>.*.*`, where no stream would take it.
const UNSAFE_TOKEN_CHARS = /[^A-Za-z0-9_-]/g;
const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;

/** Makes one subject token out of arbitrary text: every char outside [A-Za-z0-9_-] becomes `_`. */
export function sanitizeToken(token: string): string {
  if (token.length === 0) return "_";
  // Fast path: the common provider/type is already clean, so no new string is made.
  return SAFE_TOKEN.test(token) ? token : token.replace(UNSAFE_TOKEN_CHARS, "_");
}

/**
 * The subject a webhook is published on: `<prefix>.<provider>.<type>`, with provider and type
 * sanitized to one token each (`"invoice.paid"` becomes `"invoice_paid"`).
 */
export function subjectFor(prefix: string, provider: string, type: string): string {
  return `${prefix}.${sanitizeToken(provider)}.${sanitizeToken(type)}`;
}
