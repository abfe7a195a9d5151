import { parseBody, type BodyFormat } from "./body.js";
import { resolveEnvAliases, type EnvAliasUse, type ProviderEnv } from "./config.js";
import { defaultContentTypes, type ProviderDefinition } from "./define-provider.js";
import { InvalidProviderDefinitionError, InvalidSchemeParamsError, ProviderConfigError } from "./errors.js";
import { malformed, type ExtractFailure, type ExtractOk, type ExtractResult } from "./extract.js";
import type { HandshakeDone, HandshakeFailure, HandshakeResult } from "./handshake.js";
import { sanitizeExtracted } from "./sanitize.js";
import { defaultServices, type SchemeServices, type SignatureVerifier } from "./schemes/scheme.js";
import {
  isPromise,
  verifyFailure,
  type MaybePromise,
  type VerifyFailure,
  type VerifyOk,
  type VerifyRequest,
  type VerifyResult,
} from "./verification.js";

/**
 * A request whose signature verified but whose body the plugin could not map (`malformed`,
 * `unsupported_event`). `verified` is the proof: such a body is kept raw (never bounced) and can
 * be replayed through a later plugin without a second signature check.
 */
export interface VerifiedExtractFailure extends ExtractFailure {
  readonly verified: VerifyOk;
}

/**
 * A verified request mapped to events (possibly none). `verified` is set when it has
 * `unmapped` parts to keep; `release` when the scheme claimed a single-use token (call it if
 * the webhook is not stored, so the provider's retry of it passes).
 */
export type HandledOk = ExtractOk & { readonly verified?: VerifyOk; release?: () => void };

/**
 * The single result of {@link ProviderRuntime.handle}: events to publish, a handshake answered,
 * a rejected signature, a verified body that could not be mapped, or a handshake that failed.
 */
export type HandleResult = HandledOk | HandshakeDone | VerifyFailure | VerifiedExtractFailure | HandshakeFailure;

/** A provider ready to serve: config parsed, keys imported. Every method is total (never throws). */
export interface ProviderRuntime {
  readonly id: string;
  /** Name of the signature scheme, e.g. `ed25519`. */
  readonly scheme: string;
  /** Media types the provider sends. */
  readonly contentTypes: readonly string[];
  /** HTTP methods the provider uses. */
  readonly methods: readonly string[];
  /** The 2xx the provider wants for a webhook taken in, when it insists on one. */
  readonly successStatus?: 200 | 202 | 204;
  /** Aliases of its variables found set (see `withEnvAliases`): warn and name the preferred one. */
  readonly aliasesUsed: readonly EnvAliasUse[];
  /**
   * Checks the signature (and timestamp, token, certificate…) of a request. A promise only
   * for a scheme that needs I/O this time (an SNS certificate not cached yet).
   */
  verify(request: VerifyRequest): MaybePromise<VerifyResult>;
  /**
   * Maps a verified body to normalized events: what `handle` does after verifying, and what
   * a replay of a stored raw body calls. `request` supplies the arrival time (default now) and,
   * for a `params` provider, the method and URL.
   */
  extract(body: Uint8Array, verified: VerifyOk, request?: Partial<Pick<VerifyRequest, "url" | "method" | "now" | "payload">>): ExtractResult;
  /**
   * `verify`, then the handshake hook, then `extract`: what the gateway calls for each request.
   * An extract failure after a good signature comes back as a {@link VerifiedExtractFailure}.
   */
  handle(request: VerifyRequest): MaybePromise<HandleResult>;
}

/** What {@link createProviderRuntime} may be given besides the environment. */
export interface RuntimeOptions {
  /** `fetch` for schemes and handshakes that reach out (SNS); default the global one. */
  fetch?: SchemeServices["fetch"];
}

// Not fatal: an invalid byte sequence inside a verified body becomes U+FFFD (inside a JSON string
// that is text we can keep; anywhere else JSON.parse refuses it) instead of losing the webhook.
const utf8 = new TextDecoder("utf-8");

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const NOT_PARSED: unique symbol = Symbol("not parsed");

function readBody(format: BodyFormat, body: Uint8Array, url: string, method: string): { ok: true; value: unknown } | ExtractFailure {
  if (format === "json") {
    try {
      return { ok: true, value: JSON.parse(utf8.decode(body)) };
    } catch (error) {
      return malformed(`body is not UTF-8 JSON: ${describe(error)}`);
    }
  }
  const read = parseBody(format, { body, url, method });
  return read.ok ? read : malformed(read.detail);
}

function mapWith(definition: Pick<ProviderDefinition, "id" | "extract">, payload: unknown, body: Uint8Array, deliveryId: string | undefined, receivedAt: number): ExtractResult {
  try {
    const result = definition.extract(payload, { provider: definition.id, deliveryId, body, receivedAt });
    // Normalization, once for every provider (and for every replay): no NUL or lone surrogate
    // reaches the queue.
    return result.ok ? sanitizeExtracted(result) : result;
  } catch (error) {
    return malformed(`extract failed: ${describe(error)}`);
  }
}

/**
 * Parses a body that verified earlier (on receipt) in the provider's format and maps it with its
 * `extract`: what `ProviderRuntime.extract` does, without the runtime and so without its secrets.
 * Used to replay kept dead letters through the current plugin. `request` gives the arrival time
 * (default now; the event time of providers whose payload has none) and, for a `params`
 * provider, the method and URL (a kept GET's query is stored as a form body). Never throws.
 */
export function extractVerifiedBody(
  definition: Pick<ProviderDefinition, "id" | "extract" | "body">,
  body: Uint8Array,
  deliveryId: string | undefined,
  request: { url?: string; method?: string; now?: number } = {},
): ExtractResult {
  const read = readBody(definition.body ?? "json", body, request.url ?? "/", request.method ?? "POST");
  if (!read.ok) return read;
  return mapWith(definition, read.value, body, deliveryId, request.now ?? Date.now());
}

/**
 * Builds a provider's runtime from its definition and the environment: parses the config
 * once and imports keys once. Fails at construction, naming the variable, when the config is
 * missing or invalid; a verifier left without keys refuses every request (`no_secret`).
 *
 * The body is parsed once per request: after verification for schemes over the raw bytes
 * (Telnyx, Resend: no parsing at all for a forged request), before it for schemes over the
 * parsed body (form parameters, a signature inside the JSON), which then share that one
 * parse with `extract`.
 *
 * @throws ProviderConfigError
 */
export function createProviderRuntime<Config>(definition: ProviderDefinition<Config>, env: ProviderEnv, options: RuntimeOptions = {}): ProviderRuntime {
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
  const services = defaultServices(options);
  let verifier: SignatureVerifier;
  try {
    verifier = definition.signature(parsed.data).create(services);
  } catch (cause) {
    if (cause instanceof InvalidSchemeParamsError) {
      throw new ProviderConfigError(id, [], `provider ${id}: invalid ${cause.scheme} configuration: ${cause.message}`, { cause });
    }
    throw new ProviderConfigError(id, [], `provider ${id}: cannot build the signature verifier: ${describe(cause)}`, { cause });
  }
  const format: BodyFormat = definition.body ?? "json";
  if (verifier.readsPayload !== undefined && verifier.readsPayload !== format) {
    throw new InvalidProviderDefinitionError(`provider ${id}: its scheme reads the body as ${verifier.readsPayload}, the definition says ${format}`);
  }
  const parsesFirst = verifier.readsPayload !== undefined;
  const handshake = definition.handshake;

  function verify(request: VerifyRequest): MaybePromise<VerifyResult> {
    try {
      const result = verifier.verify(request, request.now ?? Date.now());
      // A verifier bug must never let a request through.
      return isPromise(result) ? result.catch((error: unknown) => verifyFailure("mismatch", `verifier failed: ${describe(error)}`)) : result;
    } catch (error) {
      return verifyFailure("mismatch", `verifier failed: ${describe(error)}`);
    }
  }

  function mapPayload(payload: unknown, body: Uint8Array, verified: VerifyOk, receivedAt: number): ExtractResult {
    return mapWith(definition, payload, body, verified.id, receivedAt);
  }

  /** Parses the body in the provider's format (JSON inline: the hot path) and maps it. */
  function readAndMap(body: Uint8Array, url: string, method: string, verified: VerifyOk, receivedAt: number): ExtractResult {
    let payload: unknown;
    if (format === "json") {
      try {
        payload = JSON.parse(utf8.decode(body));
      } catch (error) {
        return malformed(`body is not UTF-8 JSON: ${describe(error)}`);
      }
    } else {
      const read = readBody(format, body, url, method);
      if (!read.ok) return read;
      payload = read.value;
    }
    return mapPayload(payload, body, verified, receivedAt);
  }

  function extract(body: Uint8Array, verified: VerifyOk, request: Partial<Pick<VerifyRequest, "url" | "method" | "now" | "payload">> = {}): ExtractResult {
    const receivedAt = request.now ?? Date.now();
    if (request.payload !== undefined) return mapPayload(request.payload, body, verified, receivedAt);
    return readAndMap(body, request.url ?? "/", request.method ?? "POST", verified, receivedAt);
  }

  /** After a successful verification: the handshake hook, else the mapping; a refusal releases a claimed token. */
  function afterVerify(verified: VerifyResult, request: VerifyRequest, payload: unknown, receivedAt: number): MaybePromise<HandleResult> {
    if (!verified.ok) return verified;
    if (handshake !== undefined) {
      if (payload === NOT_PARSED) {
        const read = readBody(format, request.body, request.url, request.method);
        if (!read.ok) return { ...read, verified };
        payload = read.value;
      }
      let answer: MaybePromise<HandshakeResult> | undefined;
      try {
        answer = handshake(payload, { provider: id, deliveryId: verified.id, fetch: services.fetch, receivedAt });
      } catch (error) {
        return refuse(verified, { ok: false, reason: "handshake_failed", detail: describe(error) } as HandshakeFailure);
      }
      if (answer !== undefined) {
        return isPromise(answer)
          ? answer.then(
              (a) => (a.ok ? a : refuse(verified, a)),
              (error: unknown) => refuse(verified, { ok: false, reason: "handshake_failed", detail: describe(error) } as HandshakeFailure),
            )
          : answer.ok
            ? answer
            : refuse(verified, answer);
      }
    }
    const result = payload === NOT_PARSED ? readAndMap(request.body, request.url, request.method, verified, receivedAt) : mapPayload(payload, request.body, verified, receivedAt);
    // A body that verified but cannot be mapped is kept raw by the gateway (a 2xx): its token
    // stays claimed, as for any webhook taken in.
    if (!result.ok) return { ...result, verified };
    // The common case returns the plugin's own object: no allocation on the hot path.
    const unmapped = result.unmapped !== undefined && result.unmapped.length > 0;
    if (!unmapped && verified.release === undefined) return result;
    return { ...result, ...(unmapped ? { verified } : {}), ...(verified.release !== undefined ? { release: verified.release } : {}) };
  }

  function refuse<F extends VerifiedExtractFailure | HandshakeFailure>(verified: VerifyOk, failure: F): F {
    verified.release?.();
    return failure;
  }

  function handle(request: VerifyRequest): MaybePromise<HandleResult> {
    const receivedAt = request.now ?? Date.now();
    let payload: unknown = NOT_PARSED;
    let toVerify = request;
    if (parsesFirst) {
      const read = parseBody(format, request);
      if (!read.ok) return verifyFailure("bad_encoding", read.detail);
      payload = read.value;
      toVerify = { ...request, payload, now: receivedAt };
    }
    const verified = verify(toVerify);
    if (isPromise(verified)) return verified.then((v) => afterVerify(v, request, payload, receivedAt));
    return afterVerify(verified, request, payload, receivedAt);
  }

  return Object.freeze({
    id,
    scheme: verifier.scheme,
    contentTypes: definition.contentTypes ?? defaultContentTypes(format),
    methods: definition.methods ?? ["POST"],
    ...(definition.successStatus !== undefined ? { successStatus: definition.successStatus } : {}),
    aliasesUsed: Object.freeze(aliases.used),
    verify,
    extract,
    handle,
  });
}
