import type { ProviderEnv } from "./config.js";
import type { ProviderDefinition } from "./define-provider.js";
import { InvalidSchemeParamsError, ProviderConfigError } from "./errors.js";
import { malformed, type ExtractFailure, type ExtractOk, type ExtractResult } from "./extract.js";
import { sanitizeExtracted } from "./sanitize.js";
import type { SignatureVerifier } from "./schemes/scheme.js";
import { verifyFailure, type VerifyFailure, type VerifyOk, type VerifyRequest, type VerifyResult } from "./verification.js";

/** The single result of {@link ProviderRuntime.handle}: events to publish, or why not. */
export type HandleResult = ExtractOk | VerifyFailure | ExtractFailure;

/** A provider ready to serve: config parsed, keys imported. Every method is total (never throws). */
export interface ProviderRuntime {
  readonly id: string;
  /** Name of the signature scheme, e.g. `ed25519`. */
  readonly scheme: string;
  /** Checks the signature and the timestamp against the raw body. */
  verify(request: VerifyRequest): VerifyResult;
  /** Parses the (verified) body once and maps it to normalized events. */
  extract(body: Uint8Array, verified: VerifyOk): ExtractResult;
  /** `verify`, then `extract`: what the gateway calls for each request. */
  handle(request: VerifyRequest): HandleResult;
}

// Not fatal: an invalid byte sequence inside a verified body becomes U+FFFD (inside a JSON string
// that is text we can keep; anywhere else JSON.parse refuses it) instead of losing the webhook.
const utf8 = new TextDecoder("utf-8");

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Builds a provider's runtime from its definition and the environment: parses the config
 * once and imports keys once. Fails at construction, naming the variable, when the config is
 * missing or invalid; a verifier left without keys refuses every request (`no_secret`).
 *
 * @throws ProviderConfigError
 */
export function createProviderRuntime<Config>(definition: ProviderDefinition<Config>, env: ProviderEnv): ProviderRuntime {
  const id = definition.id;
  const parsed = definition.config.safeParse(env);
  if (!parsed.success) {
    const variables = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? "")).filter((v) => v !== ""))];
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "config"} ${issue.message}`);
    throw new ProviderConfigError(id, variables, `provider ${id}: invalid configuration: ${problems.join("; ")}`, { cause: parsed.error });
  }
  let verifier: SignatureVerifier;
  try {
    verifier = definition.signature(parsed.data).create();
  } catch (cause) {
    if (cause instanceof InvalidSchemeParamsError) {
      throw new ProviderConfigError(id, [], `provider ${id}: invalid ${cause.scheme} configuration: ${cause.message}`, { cause });
    }
    throw new ProviderConfigError(id, [], `provider ${id}: cannot build the signature verifier: ${describe(cause)}`, { cause });
  }
  const extractFromPayload = definition.extract;

  function verify(request: VerifyRequest): VerifyResult {
    try {
      return verifier.verify(request, request.now ?? Date.now());
    } catch (error) {
      // A verifier bug must never let a request through.
      return verifyFailure("mismatch", `verifier failed: ${describe(error)}`);
    }
  }

  function extract(body: Uint8Array, verified: VerifyOk): ExtractResult {
    let payload: unknown;
    try {
      payload = JSON.parse(utf8.decode(body));
    } catch (error) {
      return malformed(`body is not UTF-8 JSON: ${describe(error)}`);
    }
    try {
      const result = extractFromPayload(payload, { provider: id, deliveryId: verified.id, body });
      // Normalization, once for every provider: no NUL or lone surrogate reaches the queue.
      return result.ok ? sanitizeExtracted(result) : result;
    } catch (error) {
      return malformed(`extract failed: ${describe(error)}`);
    }
  }

  function handle(request: VerifyRequest): HandleResult {
    const verified = verify(request);
    return verified.ok ? extract(request.body, verified) : verified;
  }

  return Object.freeze({ id, scheme: verifier.scheme, verify, extract, handle });
}
