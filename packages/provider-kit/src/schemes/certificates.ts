import { X509Certificate, type KeyObject } from "node:crypto";
import { verifyFailure, type MaybePromise, type VerifyFailure } from "../verification.js";
import type { FetchLike } from "./scheme.js";

/** A certificate's public key and validity, as cached. */
export interface CachedCertificate {
  readonly key: KeyObject;
  /** Epoch ms. */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Options of {@link createCertificateCache}. */
export interface CertificateCacheOptions {
  fetch: FetchLike;
  /** Deadline of one fetch, ms; default 5000. */
  timeoutMs?: number;
  /** Most certificates kept; the oldest is dropped beyond it. Default 64. */
  capacity?: number;
  /** How long a failed fetch is not retried (its requests answered `key_unavailable` at once), ms; default 5000. */
  retryAfterMs?: number;
  /** Largest certificate read, bytes; default 16 KiB. */
  maxBytes?: number;
}

/**
 * Certificates fetched by URL and cached by URL, for schemes signed by a certificate the
 * request points to (SNS). The URL must already have passed the scheme's allow-list. A cached
 * certificate is returned synchronously (the steady state costs no I/O and no promise);
 * concurrent misses share one fetch; a failed fetch is remembered briefly, so a burst of
 * requests does not become a burst of fetches.
 */
export interface CertificateCache {
  get(url: string, nowMs: number): MaybePromise<CachedCertificate | VerifyFailure>;
  readonly size: number;
}

interface Entry {
  certificate?: CachedCertificate;
  pending?: Promise<CachedCertificate | VerifyFailure>;
  failure?: VerifyFailure;
  failedUntil?: number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates a {@link CertificateCache}. */
export function createCertificateCache(options: CertificateCacheOptions): CertificateCache {
  const timeoutMs = options.timeoutMs ?? 5000;
  const capacity = options.capacity ?? 64;
  const retryAfterMs = options.retryAfterMs ?? 5000;
  const maxBytes = options.maxBytes ?? 16 * 1024;
  const entries = new Map<string, Entry>();

  function remember(url: string, entry: Entry): void {
    entries.delete(url);
    entries.set(url, entry);
    if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
  }

  async function load(url: string, nowMs: number): Promise<CachedCertificate | VerifyFailure> {
    let text: string;
    try {
      const response = await options.fetch(url, { method: "GET", redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } catch (error) {
      const failure = verifyFailure("key_unavailable", `certificate ${url} could not be fetched: ${describe(error)}`);
      remember(url, { failure, failedUntil: nowMs + retryAfterMs });
      return failure;
    }
    try {
      if (text.length > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
      const x509 = new X509Certificate(text);
      const certificate: CachedCertificate = { key: x509.publicKey, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo) };
      remember(url, { certificate });
      return certificate;
    } catch (error) {
      const failure = verifyFailure("untrusted_key", `certificate ${url} is not a usable X.509 certificate: ${describe(error)}`);
      remember(url, { failure, failedUntil: nowMs + retryAfterMs });
      return failure;
    }
  }

  return {
    get(url, nowMs) {
      const entry = entries.get(url);
      if (entry?.certificate) return entry.certificate;
      if (entry?.pending) return entry.pending;
      if (entry?.failure && (entry.failedUntil ?? 0) > nowMs) return entry.failure;
      // Started on the next tick, so the entry below is in place before `load` replaces it.
      const pending = Promise.resolve().then(() => load(url, nowMs));
      remember(url, { pending });
      return pending;
    },
    get size() {
      return entries.size;
    },
  };
}
