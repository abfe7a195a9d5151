export * from "./event.js";
export * from "./errors.js";
export * from "./verification.js";
export { readHeader, readFirstHeader } from "./headers.js";
export { parseTimestampSeconds, checkTimestamp } from "./timestamp.js";
export { envList, withEnvAliases, envAliasesOf, resolveEnvAliases, type ProviderEnv, type EnvAliases, type EnvAliasUse } from "./config.js";
export * from "./extract.js";
export { sanitizeString, sanitizeEvent, sanitizeExtracted, REPLACEMENT_CHARACTER } from "./sanitize.js";
export { defineProvider, isValidProviderId, type ProviderDefinition } from "./define-provider.js";
export {
  createProviderRuntime,
  extractVerifiedBody,
  type ProviderRuntime,
  type HandleResult,
  type HandledOk,
  type VerifiedExtractFailure,
} from "./runtime.js";
export { createProviderRegistry, type ProviderRegistry } from "./registry.js";
export { useScheme, type SignatureScheme, type SignatureVerifier, type SchemeRef } from "./schemes/scheme.js";
export {
  ed25519,
  timestampPipeBody,
  checkEd25519PublicKey,
  importEd25519PublicKey,
  type Ed25519Params,
  type Ed25519PayloadBuilder,
} from "./schemes/ed25519.js";
export {
  standardWebhooks,
  checkStandardWebhooksSecret,
  decodeStandardWebhooksSecret,
  STANDARD_WEBHOOKS_TOLERANCE_SECONDS,
  type StandardWebhooksParams,
} from "./schemes/standard-webhooks.js";
export { encodeEvents, decodeEvents, countEvents, CODEC_VERSION, WIRE_STATUSES } from "./codec.js";
export { defaultEd25519Backend, nodeCryptoBackend, sodiumBackend, type Ed25519Backend } from "./schemes/ed25519-backend.js";
