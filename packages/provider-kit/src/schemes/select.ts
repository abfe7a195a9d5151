import { InvalidSchemeParamsError } from "../errors.js";
import { verifyFailure, type VerifyRequest } from "../verification.js";
import type { SchemeRef, SignatureScheme, SignatureVerifier } from "./scheme.js";

/** One way a provider may sign, and when it applies. */
export interface SchemeOption {
  /** Cheap test on the request (usually a header's presence). */
  applies(request: VerifyRequest): boolean;
  scheme: SchemeRef;
}

/** Parameters of the {@link selectScheme} scheme. */
export interface SelectSchemeParams {
  /** Tried in order: the first option that applies verifies the request, alone. */
  options: readonly SchemeOption[];
}

/**
 * For a provider that signs different webhooks differently at one URL (Vonage: a JWT on
 * Messages API webhooks, a signed parameter on SMS delivery receipts): the first option that
 * applies verifies the request; a request no option applies to is `missing_header`. The
 * options never vote: one verdict, from the scheme the request claims.
 */
export const selectScheme: SignatureScheme<SelectSchemeParams> = {
  name: "select",
  create(params: SelectSchemeParams, services): SignatureVerifier {
    if (params.options.length === 0) throw new InvalidSchemeParamsError("select", "no options");
    const options = params.options.map((o) => ({ applies: o.applies, verifier: o.scheme.create(services ?? {}) }));
    const formats = [...new Set(options.map((o) => o.verifier.readsPayload).filter((f) => f !== undefined))];
    if (formats.length > 1) throw new InvalidSchemeParamsError("select", `options read the body as ${formats.join(" and ")}`);
    const keyCount = Math.min(...options.map((o) => o.verifier.keyCount));
    const name = `select(${options.map((o) => o.verifier.scheme).join("|")})`;
    return {
      scheme: name,
      keyCount,
      ...(formats[0] !== undefined ? { readsPayload: formats[0] } : {}),
      verify(request, nowMs) {
        for (const option of options) if (option.applies(request)) return option.verifier.verify(request, nowMs);
        return verifyFailure("missing_header", "the request carries none of the signatures this provider uses");
      },
    };
  },
};
