/** Why a publish was refused because the stream is full. */
export type QueueFullReason = "max_bytes" | "max_msgs" | "max_msgs_per_subject" | "insufficient_resources";

/** Why the queue could not take a publish right now. All of these are worth retrying. */
export type QueueUnavailableReason =
  | "disconnected"
  | "closed"
  | "no_responders"
  | "timeout"
  | "request_failed"
  | "store_failed";

/**
 * The stream is full and refuses new messages (discard=new). Nothing was stored. The webhook
 * must be answered with a retryable status; the condition persists until workers catch up,
 * so this is also an alerting signal.
 */
export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
  readonly reason: QueueFullReason;
  constructor(reason: QueueFullReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * The queue could not confirm the publish: not connected, no JetStream responder (stream
 * missing or leader election), or no PubAck before the deadline. The message may or may not
 * have been stored; retrying with the same msgId inside the duplicate window is safe.
 */
export class QueueUnavailableError extends Error {
  override readonly name = "QueueUnavailableError";
  readonly reason: QueueUnavailableReason;
  constructor(reason: QueueUnavailableReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** A publish the server rejected for a reason retrying will not fix (e.g. message too large). */
export class QueuePublishError extends Error {
  override readonly name = "QueuePublishError";
  /** JetStream API error code (`err_code`) when the server sent one. */
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Invalid queue configuration, or a stream/consumer whose stored config does not match it. */
export class QueueConfigError extends Error {
  override readonly name = "QueueConfigError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A message larger than one JetStream message may be (the server's `max_payload`, read from the
 * connection). Nothing was sent; retrying the same message cannot succeed. The gateway answers
 * it 413: raise the server's `max_payload` or lower WEBHOOK_MAX_BODY_BYTES.
 */
export class QueueMessageTooLargeError extends Error {
  override readonly name = "QueueMessageTooLargeError";
  /** Bytes the message needed. */
  readonly bytes: number;
  /** Bytes allowed. */
  readonly limit: number;
  constructor(bytes: number, limit: number, options?: ErrorOptions) {
    super(`message of ${bytes} bytes exceeds the ${limit}-byte limit of one JetStream message (server max_payload)`, options);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A dead letter cannot be replayed as asked (e.g. a raw letter without the provider plugins). */
export class DeadLetterReplayError extends Error {
  override readonly name = "DeadLetterReplayError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
