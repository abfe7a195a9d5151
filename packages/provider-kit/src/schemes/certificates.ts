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
  /** Fetches in flight at most; a miss beyond it is answered `key_unavailable` at once. Default 4. */
  maxPending?: number;
}

/**
 * Certificates fetched by URL and cached by URL, for schemes signed by a certificate the
 * request points to (SNS). The URL must already have passed the scheme's allow-list. A cached
 * certificate is returned synchronously (the steady state costs no I/O and no promise);
 * concurrent misses share one fetch; a failed fetch is remembered briefly, so a burst of
 * requests does not become a burst of fetches. Failures are kept apart from certificates, and
 * few fetches run at once: a flood of forged messages naming many allow-listed URLs can
 * neither evict the certificate in use nor turn into as many outbound fetches.
 */
export interface CertificateCache {
  get(url: string, nowMs: number): MaybePromise<CachedCertificate | VerifyFailure>;
  readonly size: number;
}

interface Pending {
  promise: Promise<CachedCertificate | VerifyFailure>;
}

interface Failure {
  failure: VerifyFailure;
  until: number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Insertion-ordered map bounded to `capacity` entries: the oldest goes first. */
function put<V>(map: Map<string, V>, key: string, value: V, capacity: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > capacity) map.delete(map.keys().next().value as string);
}

/** Creates a {@link CertificateCache}. */
export function createCertificateCache(options: CertificateCacheOptions): CertificateCache {
  const timeoutMs = options.timeoutMs ?? 5000;
  const capacity = options.capacity ?? 64;
  const retryAfterMs = options.retryAfterMs ?? 5000;
  const maxBytes = options.maxBytes ?? 16 * 1024;
  const maxPending = options.maxPending ?? 4;
  const certificates = new Map<string, CachedCertificate>();
  const pending = new Map<string, Pending>();
  const failures = new Map<string, Failure>();

  async function load(url: string, nowMs: number): Promise<CachedCertificate | VerifyFailure> {
    const fail = (failure: VerifyFailure) => {
      put(failures, url, { failure, until: nowMs + retryAfterMs }, capacity * 4);
      return failure;
    };
    let text: string;
    try {
      const response = await options.fetch(url, { method: "GET", redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } catch (error) {
      return fail(verifyFailure("key_unavailable", `certificate ${url} could not be fetched: ${describe(error)}`));
    }
    try {
      if (text.length > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
      const x509 = new X509Certificate(text);
      const certificate: CachedCertificate = { key: x509.publicKey, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo) };
      put(certificates, url, certificate, capacity);
      return certificate;
    } catch (error) {
      return fail(verifyFailure("untrusted_key", `certificate ${url} is not a usable X.509 certificate: ${describe(error)}`));
    }
  }

  return {
    get(url, nowMs) {
      const certificate = certificates.get(url);
      if (certificate !== undefined) return certificate;
      const inFlight = pending.get(url);
      if (inFlight !== undefined) return inFlight.promise;
      const failed = failures.get(url);
      if (failed !== undefined && failed.until > nowMs) return failed.failure;
      if (pending.size >= maxPending) return verifyFailure("key_unavailable", `too many certificate fetches in flight; ${url} not fetched`);
      // Started on the next tick, so the entry below is in place before `load` settles.
      const promise = Promise.resolve()
        .then(() => load(url, nowMs))
        .finally(() => pending.delete(url));
      pending.set(url, { promise });
      return promise;
    },
    get size() {
      return certificates.size;
    },
  };
}
