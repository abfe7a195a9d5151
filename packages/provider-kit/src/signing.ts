/**
 * Signing as the providers do it, for load generators and demos: no test framework attached
 * (unlike `./testing`, which also holds the vitest conformance suite).
 */
export {
  generateEd25519TestKey,
  signEd25519Webhook,
  generateStandardWebhooksSecret,
  createStandardWebhooksSigner,
  type Ed25519TestKey,
  type Ed25519SignOptions,
  type StandardWebhooksSigner,
} from "./testing/signers.js";
export {
  basicAuthorization,
  formBody,
  hmacOf,
  signUrlParams,
  signUrlNonce,
  signPlivoV2,
  signParamsDigest,
  signJwtHs256,
  vonageJwtClaims,
  generateEcdsaP256TestKey,
  signEcdsaP256,
  generateSnsTestCertificate,
  signSnsMessage,
  createSnsTestFetch,
  type BasicCredential,
  type EcdsaP256TestKey,
  type SnsTestCertificate,
  type UnsignedSnsEnvelope,
} from "./testing/scheme-signers.js";
export { createSelfSignedCertificate, type SelfSignedCertificateOptions } from "./testing/x509.js";
