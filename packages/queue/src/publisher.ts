import { jetstream, JetStreamApiError, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import { errors, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import { watchConnection, type ConnectionState, type QueueConnection } from "./connect.js";
import { QueueFullError, QueueMessageTooLargeError, QueuePublishError, QueueUnavailableError, type QueueUnavailableReason } from "./errors.js";
import { silentLogger, type QueueLogger } from "./logger.js";
import { createSemaphore } from "./semaphore.js";
import type { CapacityGuard } from "./capacity-guard.js";

/** Options of {@link createPublisher}. */
export interface PublisherOptions {
  /**
   * Deadline of one publish, ms, covering the wait for an in-flight slot and the PubAck.
   * Default 1500: providers such as Telnyx give up after 2 s.
   */
  timeoutMs?: number;
  /**
   * Publishes awaiting a PubAck at once. Default 256: throughput peaks at 32–64 in flight
   * (client CPU bound) and more only adds latency and memory (nats.md §3).
   */
  maxInFlight?: number;
  /** When it says full, publishes are refused with QueueFullError without asking the server. */
  guard?: Pick<CapacityGuard, "full" | "reason">;
  /**
   * Largest message body, bytes; larger ones are refused with QueueMessageTooLargeError before
   * anything is sent. Default: {@link messageByteLimit} of the connection (its server's max_payload).
   */
  maxBytes?: number;
  /**
   * When a publish times out without a PubAck, none has had one for this long, and the server
   * does not answer a PING within a second either, the publisher leaves that server for another
   * of the list (`switchServer`): a hung node keeps its TCP connections open and answers nothing,
   * and nats.js's pings would only notice after a minute. At most once per this period. Default:
   * `timeoutMs` + 500. 0 disables it.
   */
  reconnectAfterMs?: number;
  /** Hears the forced reconnects. */
  log?: QueueLogger;
}

/** nats-server's default `max_payload`, used until the server has said otherwise. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room kept below max_payload for the headers a message may carry (msg id, dead-letter headers). */
export const HEADER_RESERVE_BYTES = 2048;

/**
 * The largest message body worth sending on `nc`: the server's `max_payload` (from the INFO it
 * sent on connect; it counts headers too) minus {@link HEADER_RESERVE_BYTES}.
 */
export function messageByteLimit(nc: Pick<NatsConnection, "info">): number {
  const max = nc.info?.max_payload;
  return (typeof max === "number" && max > 0 ? max : DEFAULT_MAX_PAYLOAD) - HEADER_RESERVE_BYTES;
}

/** Outcome of a stored (or deduplicated) publish. */
export interface PublishResult {
  /** Stream sequence; for a duplicate, the sequence of the original message. */
  seq: number;
  /** True when the msgId was already stored within the duplicate window: nothing new stored. */
  duplicate: boolean;
}

/** Publishes webhooks to the stream with bounded concurrency and a per-call deadline. */
export interface Publisher {
  /**
   * Stores `data` on `subject` with `msgId` as Nats-Msg-Id (none when empty: no dedup) and
   * resolves once JetStream acked it.
   * @throws {QueueFullError} stream full; nothing stored.
   * @throws {QueueUnavailableError} not connected, no responders, or no PubAck in time; retry
   *   with the same msgId.
   * @throws {QueuePublishError} rejected for a reason a retry will not fix.
   * @throws {QueueMessageTooLargeError} `data` exceeds the message limit; nothing sent.
   */
  publish(subject: string, data: Uint8Array, msgId: string, headers?: MsgHdrs): Promise<PublishResult>;
  /** Publishes awaiting a PubAck. */
  readonly inFlight: number;
  /** Publishes waiting for an in-flight slot. */
  readonly waiting: number;
}

const STORE_FAILED = 10077;
const INSUFFICIENT_RESOURCES = 10047;

/**
 * Maps a nats.js publish failure to the queue's error types. Full-stream rejections measured on
 * 2.9.10 all come as 10077 (JSStreamStoreFailedF) with the store error as description.
 */
export function classifyPublishError(err: unknown): Error {
  if (err instanceof JetStreamApiError) {
    const code = err.code;
    const text = err.message;
    if (code === STORE_FAILED) {
      if (text.includes("maximum messages per subject exceeded")) {
        return new QueueFullError("max_msgs_per_subject", `stream full: ${text}`, { cause: err });
      }
      if (text.includes("maximum messages exceeded")) {
        return new QueueFullError("max_msgs", `stream full: ${text}`, { cause: err });
      }
      if (text.includes("maximum bytes exceeded")) {
        return new QueueFullError("max_bytes", `stream full: ${text}`, { cause: err });
      }
      // Other store failures (I/O errors, a store being closed on leader change) are transient.
      return new QueueUnavailableError("store_failed", `stream store failed: ${text}`, { cause: err });
    }
    if (code === INSUFFICIENT_RESOURCES || text.includes("resource limits exceeded")) {
      return new QueueFullError("insufficient_resources", `JetStream storage exhausted: ${text}`, { cause: err });
    }
    return new QueuePublishError(`publish rejected: ${text} (${code})`, code, { cause: err });
  }
  if (err instanceof Error) {
    // Not exported by @nats-io/jetstream, so matched by name; thrown on no responders.
    if (err.name === "JetStreamNotEnabled") {
      return new QueueUnavailableError("no_responders", "no JetStream stream answered (no responders)", { cause: err });
    }
    if (err instanceof errors.TimeoutError) {
      return new QueueUnavailableError("timeout", "no PubAck before the deadline", { cause: err });
    }
    if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) {
      return new QueueUnavailableError("closed", `connection closed: ${err.message}`, { cause: err });
    }
    if (err instanceof errors.RequestError) {
      return new QueueUnavailableError("request_failed", `publish request failed: ${err.message}`, { cause: err });
    }
  }
  return new QueuePublishError(`publish failed: ${String(err)}`, undefined, { cause: err });
}

/**
 * Failures that say the server we are connected to may be hung: no answer at all. (No responders
 * is an answer: the server is fine and the stream has no leader yet, an election that a move to
 * another server cannot shorten, and moving costs a reconnect.)
 */
const STALL_REASONS: ReadonlySet<QueueUnavailableReason> = new Set(["timeout"]);

/** Resolves true when the server answers a PING within `ms`: it is alive, whatever its streams do. */
async function answersPing(nc: NatsConnection, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([nc.rtt().then(() => true, () => false), silent]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Watches publish outcomes and leaves the server (see `switchServer`) when a publish fails
 * without a PubAck, none has succeeded for `afterMs`, and the server does not answer a PING
 * either: a hung node. A server that answers its PING is alive, and its publishes are waiting for
 * an election (a stream without a leader), which moving to another server cannot shorten and
 * moving again and again could end on the hung node. At most one probe at a time, and one switch
 * per `afterMs`.
 */
function createStallWatch(conn: QueueConnection | NatsConnection, afterMs: number, log: QueueLogger) {
  const nc = isQueueConnection(conn) ? conn.nc : conn;
  let lastSuccess = performance.now();
  let lastReconnect = 0;
  let probing = false;
  const leave = (why: string, reason: string) => {
    lastReconnect = performance.now();
    if (isQueueConnection(conn)) conn.switchServer(why);
    else {
      log.warn({ nats: "forceReconnect", server: conn.getServer(), reason }, `${why}: reconnecting`);
      conn.reconnect().catch(() => undefined);
    }
  };
  return {
    succeeded(): void {
      lastSuccess = performance.now();
    },
    failed(err: Error, sentAt: number): void {
      if (afterMs <= 0 || probing || !(err instanceof QueueUnavailableError) || !STALL_REASONS.has(err.reason)) return;
      const now = performance.now();
      // A publish sent before the last reconnect failed on the old connection: it says nothing new.
      if (sentAt < lastReconnect || now - Math.max(lastSuccess, lastReconnect) < afterMs) return;
      probing = true;
      const server = nc.getServer();
      void answersPing(nc, Math.min(afterMs, 1000)).then((alive) => {
        probing = false;
        // Answered, or already on another server: nothing to leave.
        if (alive || nc.getServer() !== server || nc.isClosed()) return;
        leave(`publishes got no PubAck for ${Math.round(performance.now() - lastSuccess)} ms and the server answers no PING (${err.reason})`, err.reason);
      });
    },
  };
}

function isQueueConnection(v: QueueConnection | NatsConnection): v is QueueConnection {
  return "js" in v && "isConnected" in v;
}

/**
 * Creates a publisher over a {@link QueueConnection} (preferred: shares its connected flag) or
 * a bare NatsConnection (then it watches the connection status itself).
 */
export function createPublisher(conn: QueueConnection | NatsConnection, options: PublisherOptions = {}): Publisher {
  const timeoutMs = options.timeoutMs ?? 1_500;
  const maxInFlight = options.maxInFlight ?? 256;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${timeoutMs}`);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
  }
  let js: JetStreamClient;
  let state: ConnectionState;
  let nc: NatsConnection;
  if (isQueueConnection(conn)) {
    js = conn.js;
    state = conn;
    nc = conn.nc;
  } else {
    js = jetstream(conn);
    state = watchConnection(conn);
    nc = conn;
  }
  const slots = createSemaphore(maxInFlight);
  const guard = options.guard;
  const stalls = createStallWatch(conn, options.reconnectAfterMs ?? timeoutMs + 500, options.log ?? silentLogger);

  function unavailable(): QueueUnavailableError {
    return new QueueUnavailableError("disconnected", "not connected to NATS");
  }

  async function send(subject: string, data: Uint8Array, msgId: string, timeout: number, headers: MsgHdrs | undefined): Promise<PubAck> {
    const sentAt = performance.now();
    try {
      // No msg id, no Nats-Msg-Id header: grouped messages carry none (~50 stored bytes saved).
      const opts = msgId ? { msgID: msgId, timeout } : { timeout };
      const ack = await js.publish(subject, data, headers ? { ...opts, headers } : opts);
      stalls.succeeded();
      return ack;
    } catch (err) {
      const failure = classifyPublishError(err);
      stalls.failed(failure, sentAt);
      throw failure;
    } finally {
      slots.release();
    }
  }

  return {
    async publish(subject, data, msgId, headers) {
      // While disconnected nats.js would buffer the request until it times out; fail at once
      // so the caller can answer the provider with a retryable status.
      if (!state.isConnected()) throw unavailable();
      const limit = options.maxBytes ?? messageByteLimit(nc);
      if (data.byteLength > limit) throw new QueueMessageTooLargeError(data.byteLength, limit);
      if (guard?.full) throw new QueueFullError(guard.reason ?? "max_bytes", "stream full: refusing before its limit");
      if (slots.tryAcquire()) return send(subject, data, msgId, timeoutMs, headers);
      const start = performance.now();
      if (!(await slots.acquire(timeoutMs))) {
        throw new QueueUnavailableError("timeout", `no publish slot within ${timeoutMs} ms (${maxInFlight} in flight)`);
      }
      if (!state.isConnected()) {
        slots.release();
        throw unavailable();
      }
      const left = Math.max(1, Math.round(timeoutMs - (performance.now() - start)));
      return send(subject, data, msgId, left, headers);
    },
    get inFlight() {
      return slots.inUse;
    },
    get waiting() {
      return slots.waiting;
    },
  };
}
