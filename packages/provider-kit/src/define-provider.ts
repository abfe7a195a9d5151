import type { z } from "zod";
import type { BodyFormat } from "./body.js";
import { InvalidProviderDefinitionError } from "./errors.js";
import type { ExtractContext, ExtractResult } from "./extract.js";
import type { HandshakeContext, HandshakeResult } from "./handshake.js";
import type { SchemeRef } from "./schemes/scheme.js";
import type { MaybePromise } from "./verification.js";

/**
 * A provider plugin: mostly data. The gateway imports a list of these explicitly; nothing
 * registers itself on import.
 */
export interface ProviderDefinition<Config = unknown> {
  /** Lower-case `[a-z0-9-]+`; the URL segment and `NormalizedEvent.provider`. */
  readonly id: string;
  /** Zod schema over the environment variables this provider reads (its secrets). */
  readonly config: z.ZodType<Config>;
  /** The signature scheme and its parameters, built from the parsed config. */
  signature(config: Config): SchemeRef;
  /**
   * Pure mapping from a verified, parsed body to normalized events. Must not throw (the
   * runtime still guards it) and must not keep state between calls. `payload` is the body as
   * `body` says: parsed JSON, or form parameters (`FormParams`).
   */
  extract(payload: unknown, context: ExtractContext): ExtractResult;
  /** How the body is read, once, for the scheme and for `extract`; default `json`. */
  readonly body?: BodyFormat;
  /**
   * Media types the provider sends; default `application/json` for `json`,
   * `application/x-www-form-urlencoded` for `form`, both for `params`. SNS sends `text/plain`.
   */
  readonly contentTypes?: readonly string[];
  /** HTTP methods the provider uses; default `POST` (Vonage delivery receipts may be `GET`). */
  readonly methods?: readonly string[];
  /**
   * The 2xx the provider wants for a webhook taken in (Postmark and Mailgun treat anything but
   * 200 as a failure). Default: the ingest core's own status for each outcome.
   */
  readonly successStatus?: 200 | 202 | 204;
  /**
   * Protocol messages that are not events, answered after verification and before `extract`
   * (SNS `SubscriptionConfirmation`: confirm; `UnsubscribeConfirmation`: note). Return
   * `undefined` for an ordinary webhook.
   */
  handshake?(payload: unknown, context: HandshakeContext): MaybePromise<HandshakeResult> | undefined;
}

const BODY_FORMATS: ReadonlySet<string> = new Set(["json", "form", "params"]);

/** The media types a body format implies when the definition names none. */
export function defaultContentTypes(format: BodyFormat): readonly string[] {
  if (format === "form") return ["application/x-www-form-urlencoded"];
  if (format === "params") return ["application/x-www-form-urlencoded", "application/json"];
  return ["application/json"];
}

const PROVIDER_ID = /^[a-z0-9-]{1,64}$/;

/** Whether `id` is a valid provider id (lower-case letters, digits and hyphens, 1-64 characters). */
export function isValidProviderId(id: string): boolean {
  return PROVIDER_ID.test(id);
}

/**
 * Declares a provider. Checks the id and the shape and freezes the definition; the schema,
 * keys and secrets are only touched by `createProviderRuntime`.
 *
 * @throws InvalidProviderDefinitionError on a bad id or a missing member.
 */
export function defineProvider<Config>(definition: ProviderDefinition<Config>): ProviderDefinition<Config> {
  if (typeof definition.id !== "string" || !isValidProviderId(definition.id)) {
    throw new InvalidProviderDefinitionError(`provider id ${JSON.stringify(definition.id)} must match [a-z0-9-]{1,64}`);
  }
  if (typeof definition.config?.safeParse !== "function") {
    throw new InvalidProviderDefinitionError(`provider ${definition.id}: config must be a zod schema`);
  }
  if (typeof definition.signature !== "function" || typeof definition.extract !== "function") {
    throw new InvalidProviderDefinitionError(`provider ${definition.id}: signature and extract must be functions`);
  }
  if (definition.body !== undefined && !BODY_FORMATS.has(definition.body)) {
    throw new InvalidProviderDefinitionError(`provider ${definition.id}: body must be json, form or params`);
  }
  if (definition.handshake !== undefined && typeof definition.handshake !== "function") {
    throw new InvalidProviderDefinitionError(`provider ${definition.id}: handshake must be a function`);
  }
  return Object.freeze({ ...definition });
}
