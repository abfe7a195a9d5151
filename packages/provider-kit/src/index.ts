export * from "./event.js";
export * from "./errors.js";
export * from "./verification.js";
export { readHeader, readFirstHeader } from "./headers.js";
export { parseTimestampSeconds, checkTimestamp } from "./timestamp.js";
export {
  envList,
  envValue,
  envChoice,
  providerEnv,
  withEnvAliases,
  envAliasesOf,
  resolveEnvAliases,
  type ProviderEnv,
  type EnvAliases,
  type EnvAliasUse,
} from "./config.js";
export * from "./extract.js";
export { parseForm, parseQuery, queryOf, formValues, type FormParams, type ParseResult } from "./form.js";
export { parseBody, parseJsonBody, parseParams, payloadOf, type BodyFormat } from "./body.js";
export { checkPublicUrl, normalizePublicUrl, publicUrlFor, publicUrlVar } from "./public-url.js";
export { createReplayGuard, REPLAY_GUARD_CAPACITY, type ReplayGuard, type ReplayGuardOptions } from "./replay-guard.js";
export { digestSecret, equalDigests, equalAscii } from "./secret-compare.js";
export { eventIdOf, digestId } from "./ids.js";
export { extractArrayItems, type ItemResult } from "./array-body.js";
export { handshakeDone, handshakeFailed, type HandshakeContext, type HandshakeDone, type HandshakeFailure, type HandshakeResult } from "./handshake.js";
export { defineProvider, isValidProviderId, defaultContentTypes, type ProviderDefinition } from "./define-provider.js";
export { sanitizeString, sanitizeEvent, sanitizeExtracted, REPLACEMENT_CHARACTER } from "./sanitize.js";
export {
  createProviderRuntime,
  extractVerifiedBody,
  type ProviderRuntime,
  type HandleResult,
  type HandledOk,
  type VerifiedExtractFailure,
  type RuntimeOptions,
} from "./runtime.js";
export { createProviderRegistry, type ProviderRegistry } from "./registry.js";
export {
  useScheme,
  defaultServices,
  type SignatureScheme,
  type SignatureVerifier,
  type SchemeRef,
  type SchemeServices,
  type FetchLike,
} from "./schemes/scheme.js";
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
export {
  basicAuth,
  checkBasicUsername,
  checkBasicPassword,
  pairBasicCredentials,
  basicAuthorization,
  basicCredentialsEnv,
  type BasicAuthParams,
  type BasicCredential,
} from "./schemes/basic-auth.js";
export { hmac, type HmacParams, type HmacSource, type HmacSignedPart, type HmacAlgorithm } from "./schemes/hmac.js";
export { urlParamsHmac, sortedParamsString, urlVariants, type UrlParamsHmacParams } from "./schemes/url-params-hmac.js";
export { urlNonceHmac, plivoV3BaseString, type UrlNonceHmacParams } from "./schemes/url-nonce-hmac.js";
export { paramsDigest, paramsDigestString, PARAMS_DIGEST_METHODS, type ParamsDigestMethod, type ParamsDigestParams } from "./schemes/params-digest.js";
export { jwtHs256, type JwtHs256Params } from "./schemes/jwt-hs256.js";
export { ecdsaP256, checkEcdsaP256PublicKey, importEcdsaP256PublicKey, type EcdsaP256Params } from "./schemes/ecdsa-p256.js";
export {
  snsSignature,
  checkSnsTopicArn,
  checkSnsUrl,
  snsTopicRegion,
  readSnsEnvelope,
  snsStringToSign,
  confirmSnsSubscription,
  snsHandshake,
  SNS_CERTIFICATE_HOST,
  type SnsEnvelope,
  type SnsMessageType,
  type SnsSignatureParams,
} from "./schemes/sns.js";
export { createCertificateCache, type CertificateCache, type CertificateCacheOptions, type CachedCertificate } from "./schemes/certificates.js";
export { selectScheme, type SchemeOption, type SelectSchemeParams } from "./schemes/select.js";
export { encodeEvents, decodeEvents, countEvents, CODEC_VERSION, WIRE_STATUSES } from "./codec.js";
export { defaultEd25519Backend, nodeCryptoBackend, sodiumBackend, type Ed25519Backend } from "./schemes/ed25519-backend.js";
