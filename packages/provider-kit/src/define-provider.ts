import type { z } from "zod";
import { InvalidProviderDefinitionError } from "./errors.js";
import type { ExtractContext, ExtractResult } from "./extract.js";
import type { SchemeRef } from "./schemes/scheme.js";

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
   * Pure mapping from a verified, parsed JSON body to normalized events. Must not throw
   * (the runtime still guards it) and must not keep state between calls.
   */
  extract(payload: unknown, context: ExtractContext): ExtractResult;
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
  return Object.freeze({ ...definition });
}
