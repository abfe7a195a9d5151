/**
 * The inputs and outcomes of signature verification, shared by every scheme and by the runtime.
 */

/** Header map as the HTTP layer hands it over: names lower-cased, repeated headers as arrays. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One inbound webhook request, as the gateway sees it. */
export interface VerifyRequest {
  /** The exact raw body bytes. Never re-serialized JSON. */
  body: Uint8Array;
  /** Header names lower-cased. */
  headers: RequestHeaders;
  /** The public URL the provider called (schemes that sign the URL need it). */
  url: string;
  /** HTTP method, upper case. */
  method: string;
  /** Clock, epoch milliseconds; defaults to `Date.now()`. Inject it in tests. */
  now?: number;
  /**
   * The body parsed once by the runtime, for schemes that read it (form parameters, a
   * signature carried inside a JSON body). Schemes get it through `payloadOf`, which parses
   * when it is absent (a scheme called directly, as in tests).
   */
  payload?: unknown;
}

/**
 * Why a request failed verification. Beyond the signature itself: `replayed` (a single-use
 * token seen before inside its window), `untrusted_key` (a key or certificate the request
 * points to is not one we may trust, e.g. a certificate URL off the allow-list), `not_allowed`
 * (authentic, but from a sender we do not accept, e.g. an SNS topic not configured) and
 * `key_unavailable` (the key could not be fetched right now: worth a retry by the provider).
 */
export type VerifyFailureReason =
  | "missing_header"
  | "bad_encoding"
  | "mismatch"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "no_secret"
  | "replayed"
  | "untrusted_key"
  | "not_allowed"
  | "key_unavailable";

/** Every {@link VerifyFailureReason}, for exhaustive tests and metrics labels. */
export const VERIFY_FAILURE_REASONS: readonly VerifyFailureReason[] = [
  "missing_header",
  "bad_encoding",
  "mismatch",
  "timestamp_too_old",
  "timestamp_too_new",
  "no_secret",
  "replayed",
  "untrusted_key",
  "not_allowed",
  "key_unavailable",
];

/**
 * A verified request. `id` is the delivery id the signature covers, when the scheme has one
 * (`svix-id`). `release`, set by schemes with single-use tokens, forgets the token this
 * verification claimed: call it when the webhook was not stored, so the provider's retry of
 * the same delivery is not refused as a replay.
 */
export interface VerifyOk {
  ok: true;
  id?: string;
  release?: () => void;
}

/** A rejected request. `detail` is for logs, never for the HTTP answer. */
export interface VerifyFailure {
  ok: false;
  reason: VerifyFailureReason;
  detail: string;
}

export type VerifyResult = VerifyOk | VerifyFailure;

/** A value, or a promise of it: schemes that may need I/O (a certificate fetch) return a promise only then. */
export type MaybePromise<T> = T | Promise<T>;

/** Whether `value` is a promise (a thenable), without allocating. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** The shared success value for schemes whose signature covers no delivery id. */
export const VERIFIED: VerifyOk = Object.freeze({ ok: true }) as VerifyOk;

/** Builds a {@link VerifyFailure}. */
export function verifyFailure(reason: VerifyFailureReason, detail: string): VerifyFailure {
  return { ok: false, reason, detail };
}
