import { createHash, timingSafeEqual } from "node:crypto";

/**
 * SHA-256 of a secret, for comparisons that must not leak its length: compare digests with
 * {@link equalDigests} instead of the values themselves.
 */
export function digestSecret(value: string | Uint8Array): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Constant-time equality of two SHA-256 digests (see {@link digestSecret}). */
export function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Constant-time equality of two strings of ASCII text (hex or base64 signatures): the
 * lengths are compared first (a signature's length is public), then the bytes.
 */
export function equalAscii(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, "latin1"), Buffer.from(b, "latin1"));
}
