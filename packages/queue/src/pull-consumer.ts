import { JetStreamApiError, type Consumer, type ConsumerMessages, type ConsumerNotification, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { errors } from "@nats-io/nats-core";
import { silentLogger, type QueueLogger } from "./logger.js";

/**
 * Called for each message, one at a time, in delivery order. The handler takes ownership of the
 * message (ack/nak/term) even when it returns a promise. Returning a promise pauses pulling until
 * it settles: that is the backpressure hook (e.g. `batcher.add(m) ? undefined :
 * batcher.whenReady()`). Return nothing on the fast path so no promise is awaited per message.
 * While pulling is paused for longer than `pauseAfterMs`, the messages the client had already
 * received are handed over too (see {@link PullConsumerOptions.pauseAfterMs}).
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
  /**
   * When the handler's promise stays pending this long (a hold: e.g. the database is down), stop
   * the pull and hand the handler every message the client had already received, without waiting,
   * so none sits hidden in the client's buffer while its ack timer runs out (which would redeliver
   * it and burn a delivery). Pulling starts again once the last promise settles. Default: never.
   */
  pauseAfterMs?: number;
  /**
   * How long each pull request stays open at the server, ms (default 30 000, nats.js's). A request
   * outlives `stop()` at the server until it expires, and on 2.9.10 a message nak'ed meanwhile
   * can be delivered into it and counted as a delivery (see {@link PullConsumer.requestLifetimeMs}).
   */
  expiresMs?: number;
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
   * which would strand them until ack_wait, nats.md §7). Messages the server is still sending
   * for refill pulls when the subscription ends (none or one refill, a quarter of `maxMessages`,
   * on a quiet machine; a few more under load) are dropped by the client and come back after
   * ack_wait. Resolves when the loop has ended.
   */
  stop(): Promise<void>;
  /** True between `consume()` and the end of the loop. */
  readonly running: boolean;
  /**
   * How long a pull request of this consumer may outlive `stop()` at the server. A message handed
   * back (nak'ed) at shutdown with a shorter delay can be redelivered into that departed request
   * and counted as a delivery nobody saw (nats-server 2.9.10), so hand back with a longer one.
   */
  readonly requestLifetimeMs: number;
}

const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;

/** A failure to look up or pull from the consumer that goes away by itself (no leader, a timeout). */
function isPassing(err: unknown): boolean {
  if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) return false;
  if (err instanceof JetStreamApiError) return err.code !== CONSUMER_NOT_FOUND && err.code !== STREAM_NOT_FOUND;
  return true;
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
  const pauseAfterMs = options.pauseAfterMs;
  const expiresMs = options.expiresMs ?? 30_000;
  let stopRequested = false;
  let running = false;
  let signalStop!: () => void;
  const stopSignal = new Promise<void>((r) => (signalStop = r));

  const nakOnError = (msg: JsMsg, err: unknown): void => {
    log.error({ err, stream, durable, seq: msg.seq, subject: msg.subject }, "message handler failed; nak");
    msg.nak();
  };

  /** Resolves true if `p` settles within `ms`, false otherwise (or at once on stop). */
  function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([p.then(() => true), late, stopSignal.then(() => false)]).finally(() => clearTimeout(timer));
  }

  /**
   * Hands every message of one `consume()` to the handler. Returns the promise pulling waits for
   * when it ended because of a long hold (see `pauseAfterMs`), none when it ended on stop(). (Boxed:
   * an async function returning a bare promise would wait for it.)
   */
  async function pull(msgs: ConsumerMessages, handler: MessageHandler): Promise<{ hold?: Promise<void> }> {
    let hold: Promise<void> | undefined;
    for await (const m of msgs) {
      let r: void | Promise<void>;
      try {
        r = handler(m);
      } catch (err) {
        nakOnError(m, err);
        continue;
      }
      if (r === undefined) continue;
      const settled = r.catch((err: unknown) => nakOnError(m, err));
      // Paused: take the rest of the buffer without waiting; pulling resumes after the last one.
      if (hold !== undefined || stopRequested) {
        hold = settled;
        continue;
      }
      if (pauseAfterMs === undefined) {
        await settled;
      } else if (!(await settlesWithin(settled, pauseAfterMs)) && !stopRequested) {
        hold = settled;
        log.warn({ stream, durable, pauseAfterMs }, "handler still busy: pulling paused, buffered messages handed over");
        msgs.stop();
      }
    }
    const err = await msgs.closed();
    if (err) {
      log.error({ err, stream, durable }, "pull consumer ended with error");
      throw err;
    }
    return stopRequested || hold === undefined ? {} : { hold };
  }

  /** Waits `ms`, or less if stop() is called meanwhile. */
  const pause = (ms: number) => settlesWithin(new Promise<void>(() => undefined), ms);

  /**
   * Looks the consumer up and starts a pull, again and again while that fails for a reason that
   * passes: a consumer without a leader (an election, a cluster without quorum) answers nothing,
   * and the lookup times out. A missing consumer or stream, or a closed connection, is final.
   * Undefined when stop() came first.
   */
  async function startPull(): Promise<ConsumerMessages | undefined> {
    for (let attempt = 1; !stopRequested; attempt++) {
      try {
        const consumer: Consumer = await js.consumers.get(stream, durable);
        if (stopRequested) return undefined;
        return await consumer.consume({ max_messages: maxMessages, expires: expiresMs });
      } catch (err) {
        if (!isPassing(err)) throw err;
        const waitMs = Math.min(5000, 500 * attempt);
        log.warn({ err, stream, durable, attempt, waitMs }, "pull consumer: consumer not reachable (no leader?); retrying");
        await pause(waitMs);
      }
    }
    return undefined;
  }

  async function run(handler: MessageHandler): Promise<void> {
    for (;;) {
      const msgs = await startPull();
      // stop() may have been called while we were looking the consumer up.
      if (msgs === undefined) break;
      messages = msgs;
      if (stopRequested) msgs.stop();
      void (async () => {
        for await (const n of msgs.status()) logNotification(log, stream, durable, n);
      })();
      log.info({ stream, durable, maxMessages }, "pull consumer started");
      const { hold } = await pull(msgs, handler);
      if (hold === undefined) break;
      await Promise.race([hold, stopSignal]);
      if (stopRequested) break;
      log.info({ stream, durable }, "handler ready again: pulling resumed");
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
      signalStop();
      messages?.stop();
      if (loop !== undefined) await loop.catch(() => {});
    },
    get running() {
      return running;
    },
    requestLifetimeMs: expiresMs,
  };
}
