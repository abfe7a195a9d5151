import type { JetStreamManager } from "@nats-io/jetstream";

/** Backlog metrics of the webhook work queue. */
export interface QueueStats {
  /** Messages never delivered to any worker yet. */
  pending: number;
  /** Delivered but not yet acked (in flight); nak'ed messages count here until redelivered. */
  ackPending: number;
  /** pending + ackPending: what the workers still have to do. */
  depth: number;
  /** Messages in the stream. On a workqueue, stored - depth > 0 means max-delivered leftovers. */
  stored: number;
  /** Age of the oldest message still in the stream, 0 when empty. */
  oldestUnprocessedAgeSeconds: number;
  /** Outstanding messages that were delivered more than once. */
  redelivered: number;
}

/**
 * Reads queue metrics with two small API calls whose cost does not grow with the backlog.
 * On a workqueue stream acked messages are deleted, so the stream's first message is the
 * oldest unprocessed one.
 */
export async function readQueueStats(jsm: JetStreamManager, stream: string, durable: string): Promise<QueueStats> {
  const [si, ci] = await Promise.all([jsm.streams.info(stream), jsm.consumers.info(stream, durable)]);
  const stored = si.state.messages;
  // An empty stream reports first_ts "0001-01-01T00:00:00Z": guard on the count, not the date.
  const firstMs = stored > 0 ? Date.parse(si.state.first_ts) : NaN;
  return {
    pending: ci.num_pending,
    ackPending: ci.num_ack_pending,
    depth: ci.num_pending + ci.num_ack_pending,
    stored,
    oldestUnprocessedAgeSeconds: Number.isNaN(firstMs) ? 0 : Math.max(0, (Date.now() - firstMs) / 1000),
    redelivered: ci.num_redelivered,
  };
}
