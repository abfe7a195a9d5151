import type { VerifyRequest, VerifyResult } from "../verification.js";

/**
 * A ready verifier: keys imported, parameters checked. Built once per process by a scheme's
 * `create`, then called for every request; `verify` never throws.
 */
export interface SignatureVerifier {
  /** Scheme name, e.g. `ed25519`. */
  readonly scheme: string;
  /** How many keys or secrets are configured. Zero means every request is refused (`no_secret`). */
  readonly keyCount: number;
  /** Verifies one request against the clock `nowMs` (epoch milliseconds). */
  verify(request: VerifyRequest, nowMs: number): VerifyResult;
}

/**
 * A signature scheme: a named factory from parameters to a {@link SignatureVerifier}. A new
 * scheme (HMAC variants, ECDSA P-256, SNS certificates) is one new file implementing this.
 * `create` throws `InvalidSchemeParamsError` on unusable parameters.
 */
export interface SignatureScheme<Params> {
  readonly name: string;
  create(params: Params): SignatureVerifier;
}

/** A scheme together with the parameters a provider built from its configuration. */
export interface SchemeRef {
  readonly scheme: string;
  create(): SignatureVerifier;
}

/**
 * Binds a scheme to its parameters; what a provider's `signature(config)` returns.
 *
 * @example signature: (config) => useScheme(ed25519, { publicKeys: config.TELNYX_PUBLIC_KEY, ... })
 */
export function useScheme<Params>(scheme: SignatureScheme<Params>, params: Params): SchemeRef {
  return { scheme: scheme.name, create: () => scheme.create(params) };
}
