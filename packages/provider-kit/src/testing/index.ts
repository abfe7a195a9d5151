export { runProviderConformance, expectNormalizedEvent, type ProviderConformanceOptions } from "./conformance.js";
export { loadFixtures, fixtureBody, type ProviderFixture, type FixtureExpectation } from "./fixtures.js";
export {
  generateEd25519TestKey,
  signEd25519Webhook,
  generateStandardWebhooksSecret,
  createStandardWebhooksSigner,
  type Ed25519TestKey,
  type Ed25519SignOptions,
  type StandardWebhooksSigner,
} from "./signers.js";
