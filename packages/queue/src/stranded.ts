import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamManager, type JsMsg, type StreamConfig } from "@nats-io/jetstream";
import { headers as createHeaders, nanos } from "@nats-io/nats-core";
import type { QueueConfig } from "./config.js";
import type { QueueConnection } from "./connect.js";
import { DLQ_HEADERS, type DeadLetterConfig } from "./dead-letter.js";
import { silentLogger, type QueueLogger } from "./logger.js";
import { createPullConsumer, type PullConsumer } from "./pull-consumer.js";
import { addOrUpdateStream } from "./stream.js";

/**
 * Stranded messages: once the server has delivered a message `max_deliver` times it never
 * delivers it again, and on a work queue it stays in the stream until `max_age` deletes it. The
 * worker avoids this (the last delivery is never nak'ed, see the processor), but a message can
 * still get there: a worker killed repeatedly while holding it, a dead-letter stream that refused
 * it while the worker shut down, ack timers running out on a frozen host. The server announces each
 * with a MAX_DELIVERIES advisory; a stream of our own keeps those advisories durably (a plain
 * subscription would miss the ones sent while no worker runs), and every worker sweeps it: the
 * stranded message is copied to the dead letters and only then deleted from the work stream.
 */

/** Names of the advisory stream and its sweeper consumer for a work stream. */
export interface StrandedConfig {
  /** The work stream whose consumer's advisories are kept. */
  stream: string;
  consumer: string;
  /** `<stream>_stranded`: holds the MAX_DELIVERIES advisories until swept. */
  advisoryStream: string;
  /** Durable consumer of the advisory stream shared by every worker. */
  sweeper: string;
  replicas: number;
}

export function strandedConfigFor(cfg: QueueConfig): StrandedConfig {
  return { stream: cfg.stream, consumer: cfg.consumer, advisoryStream: `${cfg.stream}_stranded`, sweeper: `${cfg.consumer}_sweeper`, replicas: cfg.replicas };
}

/** The advisory subject the server publishes when a message of `stream`/`consumer` reaches max_deliver. */
export function maxDeliveriesSubject(stream: string, consumer: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;
}

/** The JetStream config of the advisory stream that keeps MAX_DELIVERIES advisories. */
export function strandedStreamConfigFor(cfg: StrandedConfig): Partial<StreamConfig> & { name: string } {
  return {
    name: cfg.advisoryStream,
    subjects: [maxDeliveriesSubject(cfg.stream, cfg.consumer)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: cfg.replicas,
    max_age: nanos(14 * 86_400_000),
  };
}

/** The durable consumer every worker sweeps the advisory stream with. */
export function sweeperConsumerConfigFor(cfg: StrandedConfig): Partial<ConsumerConfig> & { durable_name: string } {
  return { durable_name: cfg.sweeper, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: nanos(30_000) };
}

/** Creates (or updates) the advisory stream and its sweeper consumer. */
export async function ensureStrandedSweep(jsm: JetStreamManager, cfg: StrandedConfig): Promise<void> {
  await addOrUpdateStream(jsm, strandedStreamConfigFor(cfg));
  await jsm.consumers.add(cfg.advisoryStream, sweeperConsumerConfigFor(cfg));
}

/** What the server says in a MAX_DELIVERIES advisory (io.nats.jetstream.advisory.v1.max_deliver). */
interface MaxDeliveriesAdvisory {
  stream_seq: number;
  deliveries: number;
}

export interface StrandedSweeperOptions {
  log?: QueueLogger;
  /** Called for each stranded message moved to the dead letters. */
  onRecovered?(seq: number, subject: string): void;
  /** Delay before an advisory whose move failed is tried again, ms (default 5000). */
  retryMs?: number;
}

/**
 * Moves one stranded message to the dead letters: copies it with reason `max_deliveries` (msg id
 * `dlq:<stream>:<seq>`, the one the worker itself uses: if both move it, it is stored once),
 * then deletes it from the work stream. Returns false when it is already gone (acked or moved).
 */
export async function moveStranded(queue: QueueConnection, cfg: StrandedConfig, dlq: DeadLetterConfig, advisory: MaxDeliveriesAdvisory): Promise<{ moved: boolean; subject?: string }> {
  const seq = advisory.stream_seq;
  const stored = await queue.jsm.streams.getMessage(cfg.stream, { seq });
  if (!stored) return { moved: false };
  const h = createHeaders();
  const parts = stored.subject.split(".");
  h.set(DLQ_HEADERS.reason, "max_deliveries");
  h.set(DLQ_HEADERS.error, `the server stopped delivering it after ${advisory.deliveries} deliveries (max_deliver); recovered by the stranded-message sweeper`);
  h.set(DLQ_HEADERS.attempts, String(advisory.deliveries));
  h.set(DLQ_HEADERS.subject, stored.subject);
  h.set(DLQ_HEADERS.seq, String(seq));
  const original = stored.header?.get("Nats-Msg-Id");
  if (original) h.set(DLQ_HEADERS.msgId, original);
  h.set(DLQ_HEADERS.at, String(Date.now()));
  await queue.js.publish(`${dlq.subjectPrefix}.${parts[parts.length - 2] ?? ""}.${parts[parts.length - 1] ?? ""}`, stored.data, { headers: h, msgID: `dlq:${cfg.stream}:${seq}` });
  await queue.jsm.streams.deleteMessage(cfg.stream, seq, false).catch(() => false);
  return { moved: true, subject: stored.subject };
}

/**
 * Starts sweeping the advisory stream: each advisory's message is moved to the dead letters, then
 * the advisory is acked; a move that fails (dead-letter stream full or unreachable) is retried
 * later, and the stranded message stays in the work stream meanwhile. Returns the consumer (stop
 * it on shutdown).
 */
export function startStrandedSweeper(queue: QueueConnection, cfg: StrandedConfig, dlq: DeadLetterConfig, options: StrandedSweeperOptions = {}): PullConsumer {
  const log = options.log ?? silentLogger;
  const retryMs = options.retryMs ?? 5_000;
  const consumer = createPullConsumer(queue.js, { stream: cfg.advisoryStream, durable: cfg.sweeper, maxMessages: 10, log });
  const sweep = async (m: JsMsg): Promise<void> => {
    let advisory: MaxDeliveriesAdvisory;
    try {
      advisory = m.json<MaxDeliveriesAdvisory>();
      if (!Number.isSafeInteger(advisory.stream_seq)) throw new Error("no stream_seq");
    } catch (err) {
      log.error({ err, seq: m.seq }, "unreadable max-deliveries advisory; dropped");
      m.term();
      return;
    }
    try {
      const r = await moveStranded(queue, cfg, dlq, advisory);
      m.ack();
      if (r.moved) {
        log.error({ stream: cfg.stream, seq: advisory.stream_seq, deliveries: advisory.deliveries, subject: r.subject }, "stranded message (max_deliver reached) moved to the dead letters");
        options.onRecovered?.(advisory.stream_seq, r.subject ?? "");
      }
    } catch (err) {
      log.error({ err, stream: cfg.stream, seq: advisory.stream_seq }, "could not move a stranded message to the dead letters; will retry");
      m.nak(retryMs);
    }
  };
  void consumer.consume(sweep).catch((err: unknown) => log.error({ err }, "stranded-message sweeper stopped"));
  return consumer;
}
