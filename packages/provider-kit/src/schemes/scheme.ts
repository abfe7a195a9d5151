import type { BodyFormat } from "../body.js";
import type { MaybePromise, VerifyRequest, VerifyResult } from "../verification.js";

/**
 * The part of `fetch` Floodgate uses (GET a URL, read the body as text). Injectable so that
 * schemes and handshakes that reach out (an SNS certificate, a subscription confirmation) run
 * offline in tests.
 */
export type FetchLike = (
  url: string,
  init?: { method?: string; signal?: AbortSignal; redirect?: "error" | "follow" | "manual" },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/** What the runtime hands a scheme (and a handshake) besides its parameters. */
export interface SchemeServices {
  /** Defaults to the global `fetch`. */
  fetch: FetchLike;
}

/**
 * A ready verifier: keys imported, parameters checked. Built once per process by a scheme's
 * `create`, then called for every request; `verify` never throws.
 */
export interface SignatureVerifier {
  /** Scheme name, e.g. `ed25519`. */
  readonly scheme: string;
  /** How many keys or secrets are configured. Zero means every request is refused (`no_secret`). */
  readonly keyCount: number;
  /**
   * Set when the signature is over the *parsed* body (form parameters, fields of a JSON body):
   * the runtime then parses the body once, before verifying, and passes it as
   * `request.payload` to `verify` and to the provider's `extract`.
   */
  readonly readsPayload?: BodyFormat;
  /**
   * Verifies one request against the clock `nowMs` (epoch milliseconds). Synchronous, except
   * for schemes that may need I/O (a certificate not cached yet): only those return a promise,
   * and only then.
   */
  verify(request: VerifyRequest, nowMs: number): MaybePromise<VerifyResult>;
}

/**
 * A signature scheme: a named factory from parameters to a {@link SignatureVerifier}. A new
 * scheme is one new file implementing this. `create` throws `InvalidSchemeParamsError` on
 * unusable parameters.
 */
export interface SignatureScheme<Params> {
  readonly name: string;
  /** `services` default to {@link defaultServices} (the global `fetch`). */
  create(params: Params, services?: SchemeServices): SignatureVerifier;
}

/** A scheme together with the parameters a provider built from its configuration. */
export interface SchemeRef {
  readonly scheme: string;
  create(services?: Partial<SchemeServices>): SignatureVerifier;
}

/** The default services: the global `fetch`. */
export function defaultServices(overrides: Partial<SchemeServices> = {}): SchemeServices {
  return { fetch: overrides.fetch ?? ((url, init) => fetch(url, init)) };
}

/**
 * Binds a scheme to its parameters; what a provider's `signature(config)` returns.
 *
 * @example signature: (config) => useScheme(ed25519, { publicKeys: config.TELNYX_PUBLIC_KEY, ... })
 */
export function useScheme<Params>(scheme: SignatureScheme<Params>, params: Params): SchemeRef {
  return { scheme: scheme.name, create: (services) => scheme.create(params, defaultServices(services)) };
}
