export { runProviderConformance, expectNormalizedEvent, type ProviderConformanceOptions, type SignedRequest, type BodyCoverage } from "./conformance.js";
export { loadFixtures, fixtureBody, type ProviderFixture, type FixtureExpectation } from "./fixtures.js";
export * from "../signing.js";
