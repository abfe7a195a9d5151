export { connectQueue, createQueueConnector, watchConnection } from "./connect.js";
export type {
  ConnectQueueOptions,
  ConnectionState,
  QueueConnection,
  QueueConnector,
  QueueConnectorOptions,
  QueueConnectorState,
} from "./connect.js";
export { defaultQueueConfig, queueConfigFromEnv, queueEnvNames, streamSubject, validateQueueConfig } from "./config.js";
export type { QueueConfig, StreamCompression } from "./config.js";
export { STREAM_COMPRESSIONS } from "./config.js";
export { parseServerVersion, serverProfile, versionAtLeast, type ServerProfile } from "./server-version.js";
export { ensureStream, streamConfigFor } from "./stream.js";
export { ensureConsumer, consumerConfigFor } from "./consumer-setup.js";
export { createPublisher, messageByteLimit, DEFAULT_MAX_PAYLOAD, HEADER_RESERVE_BYTES } from "./publisher.js";
export type { Publisher, PublisherOptions, PublishResult } from "./publisher.js";
export { createPullConsumer } from "./pull-consumer.js";
export type { MessageHandler, PullConsumer, PullConsumerOptions } from "./pull-consumer.js";
export { readQueueStats } from "./queue-stats.js";
export type { QueueStats } from "./queue-stats.js";
export { sanitizeToken, subjectFor } from "./subject.js";
export { silentLogger } from "./logger.js";
export type { QueueLogger } from "./logger.js";
export {
  DeadLetterReplayError,
  QueueConfigError,
  QueueFullError,
  QueueMessageTooLargeError,
  QueuePublishError,
  QueueUnavailableError,
  type QueueFullReason,
  type QueueUnavailableReason,
} from "./errors.js";
export type { JsMsg, StreamInfo } from "@nats-io/jetstream";
export { addOrUpdateStream } from "./stream.js";
export {
  deadLetterConfigFor,
  deadLetterStreamConfigFor,
  ensureDeadLetterStream,
  deadLetter,
  getDeadLetter,
  listDeadLetters,
  countDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  purgeDeadLetters,
  matchesFilter,
  keepRawDeadLetter,
  workSubjectPrefixOf,
  DLQ_HEADERS,
  RAW_TYPE_TOKEN,
  type DeadLetterConfig,
  type DeadLetterKind,
  type RawRequestInfo,
  type RawDeadLetter,
  type RawReplay,
  type ReplayOptions,
  type ReplayOutcome,
  type ReplayAllResult,
  type DeadLetterInfo,
  type DeadLetter,
  type DeadLetterFilter,
} from "./dead-letter.js";
export {
  strandedConfigFor,
  strandedStreamConfigFor,
  sweeperConsumerConfigFor,
  ensureStrandedSweep,
  startStrandedSweeper,
  moveStranded,
  maxDeliveriesSubject,
  type StrandedConfig,
  type StrandedSweeperOptions,
} from "./stranded.js";
export { createCapacityGuard, type CapacityGuard, type CapacityGuardOptions } from "./capacity-guard.js";
export { createGroupingPublisher, type GroupingPublisher, type GroupingPublisherOptions } from "./grouping-publisher.js";
export { describeDurability, readDurability, type Durability } from "./durability.js";
