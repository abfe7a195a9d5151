export { connectQueue, watchConnection } from "./connect.js";
export type { ConnectQueueOptions, ConnectionState, QueueConnection } from "./connect.js";
export { defaultQueueConfig, queueConfigFromEnv, queueEnvNames, streamSubject, validateQueueConfig } from "./config.js";
export type { QueueConfig } from "./config.js";
export { ensureStream, streamConfigFor } from "./stream.js";
export { ensureConsumer, consumerConfigFor } from "./consumer-setup.js";
export { createPublisher } from "./publisher.js";
export type { Publisher, PublisherOptions, PublishResult } from "./publisher.js";
export { createPullConsumer } from "./pull-consumer.js";
export type { MessageHandler, PullConsumer, PullConsumerOptions } from "./pull-consumer.js";
export { readQueueStats } from "./queue-stats.js";
export type { QueueStats } from "./queue-stats.js";
export { sanitizeToken, subjectFor } from "./subject.js";
export { silentLogger } from "./logger.js";
export type { QueueLogger } from "./logger.js";
export {
  QueueConfigError,
  QueueFullError,
  QueuePublishError,
  QueueUnavailableError,
  type QueueFullReason,
  type QueueUnavailableReason,
} from "./errors.js";
export type { JsMsg } from "@nats-io/jetstream";
export { addOrUpdateStream } from "./stream.js";
export {
  deadLetterConfigFor,
  ensureDeadLetterStream,
  deadLetter,
  getDeadLetter,
  listDeadLetters,
  countDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  purgeDeadLetters,
  matchesFilter,
  DLQ_HEADERS,
  type DeadLetterConfig,
  type DeadLetterInfo,
  type DeadLetter,
  type DeadLetterFilter,
} from "./dead-letter.js";
export {
  strandedConfigFor,
  ensureStrandedSweep,
  startStrandedSweeper,
  moveStranded,
  maxDeliveriesSubject,
  type StrandedConfig,
  type StrandedSweeperOptions,
} from "./stranded.js";
export { createCapacityGuard, type CapacityGuard, type CapacityGuardOptions } from "./capacity-guard.js";
export { createGroupingPublisher, type GroupingPublisher, type GroupingPublisherOptions } from "./grouping-publisher.js";
