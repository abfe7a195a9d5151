/**
 * Test helpers for integration tests against a real nats-server (also for the apps' tests):
 * unique names on the shared server and a private, killable server.
 */
export { deleteStream, natsUrl, startNatsServer, uniqueQueueConfig } from "./nats-test-env.js";
export type { TestNatsServer } from "./nats-test-env.js";
