import type { ConsumerMessages, ConsumerNotification, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { silentLogger, type QueueLogger } from "./logger.js";

/**
 * Called for each message, one at a time, in delivery order. The handler owns the message's
 * disposition (ack/nak/term). Returning a promise pauses pulling until it settles: that is the
 * backpressure hook (e.g. `batcher.add(m) ? undefined : batcher.whenReady()`). Return nothing
 * on the fast path so no promise is awaited per message.
 *
 * If it throws or the promise rejects, the error is logged and the message is nak'ed (a no-op
 * if the handler already acked it), so it is redelivered instead of waiting for ack_wait.
 */
export type MessageHandler = (msg: JsMsg) => void | Promise<void>;

/** Options of {@link createPullConsumer}. */
export interface PullConsumerOptions {
  stream: string;
  /** Durable consumer name; it must exist (see `ensureConsumer`). */
  durable: string;
  /**
   * Messages buffered client-side per pull (default 100). The pull is refilled at 75 %
   * consumed. Each buffered message is already unacked on the server, so unacked per worker is
   * up to the handler's own pending plus this; keep the server's max_ack_pending above
   * workers × (that sum) or delivery stalls.
   */
  maxMessages?: number;
  log?: QueueLogger;
}

/** A running-or-idle pull loop over one durable consumer. */
export interface PullConsumer {
  /**
   * Starts pulling and calls `handler` for each message. Resolves once the loop has ended after
   * `stop()`, with every buffered message handed to the handler; rejects if the subscription
   * failed for good (e.g. connection closed).
   */
  consume(handler: MessageHandler): Promise<void>;
  /**
   * Stops pulling. Messages already buffered are still handed to the handler (no `break`,
   * which would strand them until ack_wait, nats.md §7). Resolves when the loop has ended.
   */
  stop(): Promise<void>;
  /** True between `consume()` and the end of the loop. */
  readonly running: boolean;
}

function logNotification(log: QueueLogger, stream: string, durable: string, n: ConsumerNotification): void {
  switch (n.type) {
    case "heartbeats_missed":
      log.warn({ stream, durable, status: n.type, count: n.count }, "consumer heartbeats missed");
      break;
    case "consumer_not_found":
    case "consumer_deleted":
    case "stream_not_found":
      log.error({ stream, durable, status: n.type }, `pull consumer: ${n.type}`);
      break;
    case "exceeded_limits":
    case "no_responders":
      log.warn({ stream, durable, status: n.type }, `pull consumer: ${n.type}`);
      break;
    // "next", "heartbeat", "discard", "flow_control" happen on every pull cycle: too chatty.
    default:
      break;
  }
}

/**
 * Creates a pull consumer over `consume()` with the iterator API. The iterator (not the
 * callback API) is used because nats.js queues each refill pull behind the messages already
 * buffered, so a handler that awaits really stops new pulls.
 */
export function createPullConsumer(js: JetStreamClient, options: PullConsumerOptions): PullConsumer {
  const { stream, durable } = options;
  const maxMessages = options.maxMessages ?? 100;
  const log = options.log ?? silentLogger;
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let stopRequested = false;
  let running = false;

  const nakOnError = (msg: JsMsg, err: unknown): void => {
    log.error({ err, stream, durable, seq: msg.seq, subject: msg.subject }, "message handler failed; nak");
    msg.nak();
  };

  async function run(handler: MessageHandler): Promise<void> {
    const consumer = await js.consumers.get(stream, durable);
    // stop() may have been called while we were looking the consumer up.
    if (stopRequested) return;
    const msgs = await consumer.consume({ max_messages: maxMessages });
    messages = msgs;
    if (stopRequested) msgs.stop();
    void (async () => {
      for await (const n of msgs.status()) logNotification(log, stream, durable, n);
    })();
    log.info({ stream, durable, maxMessages }, "pull consumer started");
    for await (const m of msgs) {
      let r: void | Promise<void>;
      try {
        r = handler(m);
      } catch (err) {
        nakOnError(m, err);
        continue;
      }
      if (r !== undefined) {
        try {
          await r;
        } catch (err) {
          nakOnError(m, err);
        }
      }
    }
    const err = await msgs.closed();
    if (err) {
      log.error({ err, stream, durable }, "pull consumer ended with error");
      throw err;
    }
    log.info({ stream, durable }, "pull consumer stopped");
  }

  return {
    consume(handler) {
      if (loop !== undefined) throw new Error("consume() already called on this PullConsumer");
      running = true;
      loop = run(handler).finally(() => {
        running = false;
        messages = undefined;
      });
      return loop;
    },
    async stop() {
      stopRequested = true;
      messages?.stop();
      if (loop !== undefined) await loop.catch(() => {});
    },
    get running() {
      return running;
    },
  };
}
