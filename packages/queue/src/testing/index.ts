/**
 * Test helpers for integration tests against a real nats-server (also for the apps' tests):
 * unique names on the shared server and a private, killable server.
 */
export { deleteStream, natsServerBin, natsUrl, startNatsServer, uniqueQueueConfig } from "./nats-test-env.js";
export type { TestNatsServer, TestNatsServerOptions } from "./nats-test-env.js";
