export { runProviderConformance, expectNormalizedEvent, type ProviderConformanceOptions } from "./conformance.js";
export { loadFixtures, fixtureBody, type ProviderFixture, type FixtureExpectation } from "./fixtures.js";
export * from "../signing.js";
