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
