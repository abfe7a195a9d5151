import { resolveEnvAliases, type EnvAliasUse, type ProviderEnv } from "./config.js";
import type { ProviderDefinition } from "./define-provider.js";
import { InvalidSchemeParamsError, ProviderConfigError } from "./errors.js";
import { malformed, type ExtractFailure, type ExtractOk, type ExtractResult } from "./extract.js";
import { sanitizeExtracted } from "./sanitize.js";
import type { SignatureVerifier } from "./schemes/scheme.js";
import { verifyFailure, type VerifyFailure, type VerifyOk, type VerifyRequest, type VerifyResult } from "./verification.js";

/**
 * A request whose signature verified but whose body the plugin could not map (`malformed`,
 * `unsupported_event`). `verified` is the proof: such a body is kept raw (never bounced) and can
 * be replayed through a later plugin without a second signature check.
 */
export interface VerifiedExtractFailure extends ExtractFailure {
  readonly verified: VerifyOk;
}

/** A verified request mapped to events; `verified` is set when it has `unmapped` parts to keep. */
export type HandledOk = ExtractOk & { readonly verified?: VerifyOk };

/**
 * The single result of {@link ProviderRuntime.handle}: events to publish, a rejected signature,
 * or a verified body that could not be mapped.
 */
export type HandleResult = HandledOk | VerifyFailure | VerifiedExtractFailure;

/** A provider ready to serve: config parsed, keys imported. Every method is total (never throws). */
export interface ProviderRuntime {
  readonly id: string;
  /** Name of the signature scheme, e.g. `ed25519`. */
  readonly scheme: string;
  /** Aliases of its variables found set (see `withEnvAliases`): warn and name the preferred one. */
  readonly aliasesUsed: readonly EnvAliasUse[];
  /** Checks the signature and the timestamp against the raw body. */
  verify(request: VerifyRequest): VerifyResult;
  /** Parses the (verified) body once and maps it to normalized events. */
  extract(body: Uint8Array, verified: VerifyOk): ExtractResult;
  /**
   * `verify`, then `extract`: what the gateway calls for each request. An extract failure after
   * a good signature comes back as a {@link VerifiedExtractFailure}.
   */
  handle(request: VerifyRequest): HandleResult;
}

// Not fatal: an invalid byte sequence inside a verified body becomes U+FFFD (inside a JSON string
// that is text we can keep; anywhere else JSON.parse refuses it) instead of losing the webhook.
const utf8 = new TextDecoder("utf-8");

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Parses a body that verified earlier (on receipt) and maps it with the provider's `extract`:
 * what `ProviderRuntime.extract` does, without the runtime and so without its secrets. Used to
 * replay kept dead letters through the current plugin. Never throws.
 */
export function extractVerifiedBody(
  definition: Pick<ProviderDefinition, "id" | "extract">,
  body: Uint8Array,
  deliveryId: string | undefined,
): ExtractResult {
  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(body));
  } catch (error) {
    return malformed(`body is not UTF-8 JSON: ${describe(error)}`);
  }
  try {
    const result = definition.extract(payload, { provider: definition.id, deliveryId, body });
    // Normalization, once for every provider (and for every replay): no NUL or lone surrogate
    // reaches the queue.
    return result.ok ? sanitizeExtracted(result) : result;
  } catch (error) {
    return malformed(`extract failed: ${describe(error)}`);
  }
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
  const aliases = resolveEnvAliases(definition.config, env);
  const parsed = definition.config.safeParse(aliases.env);
  if (!parsed.success) {
    // A value read through an alias is reported under the name that was actually set.
    const setAs = (variable: string) => aliases.used.find((u) => u.preferred === variable && !u.ignored)?.alias;
    const variables = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? "")).filter((v) => v !== ""))].map((v) => setAs(v) ?? v);
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.length > 0 ? issue.path.join(".") : "config";
      const alias = setAs(String(issue.path[0] ?? ""));
      return `${name}${alias ? ` (set as ${alias})` : ""} ${issue.message}`;
    });
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

  function verify(request: VerifyRequest): VerifyResult {
    try {
      return verifier.verify(request, request.now ?? Date.now());
    } catch (error) {
      // A verifier bug must never let a request through.
      return verifyFailure("mismatch", `verifier failed: ${describe(error)}`);
    }
  }

  function extract(body: Uint8Array, verified: VerifyOk): ExtractResult {
    return extractVerifiedBody(definition, body, verified.id);
  }

  function handle(request: VerifyRequest): HandleResult {
    const verified = verify(request);
    if (!verified.ok) return verified;
    const result = extract(request.body, verified);
    // The common case returns the plugin's own object: no allocation on the hot path.
    if (!result.ok) return { ...result, verified };
    return result.unmapped !== undefined && result.unmapped.length > 0 ? { ...result, verified } : result;
  }

  return Object.freeze({ id, scheme: verifier.scheme, aliasesUsed: Object.freeze(aliases.used), verify, extract, handle });
}
