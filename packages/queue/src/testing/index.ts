/**
 * Test helpers for integration tests against a real nats-server (also for the apps' tests):
 * unique names on the shared server, a private killable server, and a private three-node cluster.
 */
export { deleteStream, natsServerBin, natsUrl, startNatsServer, uniqueQueueConfig } from "./nats-test-env.js";
export type { TestNatsServer, TestNatsServerOptions } from "./nats-test-env.js";
export { startNatsCluster } from "./nats-cluster.js";
export type { NatsClusterNode, NatsClusterOptions, TestNatsCluster } from "./nats-cluster.js";
