import { createHash } from "node:crypto";

/**
 * An event id synthesized from the fields that identify an event, for providers that send
 * none: the present parts joined with `:` (absent, null and empty parts are left out, so
 * `eventIdOf(sid, status, errorCode)` is `SM…:delivered` or `SM…:undelivered:30003`).
 */
export function eventIdOf(...parts: readonly (string | number | null | undefined)[]): string {
  let out = "";
  for (const part of parts) {
    if (part === null || part === undefined || part === "") continue;
    out = out.length === 0 ? String(part) : `${out}:${part}`;
  }
  return out;
}

/**
 * A delivery id for a webhook that has none (a SendGrid or Bandwidth batch): 22 base64url
 * characters (132 bits) of the body's SHA-256. An identical retry gets the same id, so with
 * `GATEWAY_GROUPING=off` JetStream recognizes it; events are deduplicated by their own ids
 * in any case.
 */
export function digestId(body: Uint8Array): string {
  return createHash("sha256").update(body).digest("base64url").slice(0, 22);
}
