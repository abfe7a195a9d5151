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
}

/** Why a request failed verification. */
export type VerifyFailureReason =
  | "missing_header"
  | "bad_encoding"
  | "mismatch"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "no_secret";

/** Every {@link VerifyFailureReason}, for exhaustive tests and metrics labels. */
export const VERIFY_FAILURE_REASONS: readonly VerifyFailureReason[] = [
  "missing_header",
  "bad_encoding",
  "mismatch",
  "timestamp_too_old",
  "timestamp_too_new",
  "no_secret",
];

/** A verified request. `id` is the delivery id the signature covers, when the scheme has one (`svix-id`). */
export interface VerifyOk {
  ok: true;
  id?: string;
}

/** A rejected request. `detail` is for logs, never for the HTTP answer. */
export interface VerifyFailure {
  ok: false;
  reason: VerifyFailureReason;
  detail: string;
}

export type VerifyResult = VerifyOk | VerifyFailure;

/** The shared success value for schemes whose signature covers no delivery id. */
export const VERIFIED: VerifyOk = Object.freeze({ ok: true }) as VerifyOk;

/** Builds a {@link VerifyFailure}. */
export function verifyFailure(reason: VerifyFailureReason, detail: string): VerifyFailure {
  return { ok: false, reason, detail };
}
