import { QueueMessageTooLargeError } from "./errors.js";
import type { Publisher, PublishResult } from "./publisher.js";

/** Options of {@link createGroupingPublisher}. */
export interface GroupingPublisherOptions<T> {
  /** Encodes the items of one group into one message body. */
  encode(items: T[]): Uint8Array;
  /** A group is published as soon as it holds this many items (default 500). */
  maxItems?: number;
  /**
   * Largest message body, bytes (default: unlimited). Pass the server's limit (`messageByteLimit`
   * of the connection, below its max_payload): a group whose encoding is larger is split between
   * its callers, and a caller whose items alone are larger is refused with
   * QueueMessageTooLargeError while the others of its group are stored.
   */
  maxBytes?: number;
}

/** Publishes items of concurrent callers together, one JetStream message per group. */
export interface GroupingPublisher<T> {
  /**
   * Adds `items` to the open group for `subject` and resolves once the message holding them is
   * stored by JetStream (or rejects with the publisher's error: nothing of the group is stored;
   * or with QueueMessageTooLargeError when these items alone exceed `maxBytes`).
   */
  publish(subject: string, items: readonly T[]): Promise<PublishResult>;
  /** Messages published so far, the items they carried, and groups split for size (for metrics). */
  readonly stats: { groups: number; items: number; splits: number };
}

/** One caller: its items are `items[start, end)` of its group. */
interface Waiter {
  start: number;
  end: number;
  resolve(r: PublishResult): void;
  reject(err: unknown): void;
}

interface Group<T> {
  items: T[];
  waiters: Waiter[];
}

/**
 * Groups what concurrent requests publish: every caller in the same event-loop turn (or up to
 * `maxItems`) joins one message per subject, published as soon as the turn ends. Each caller
 * still hears back only after JetStream stored *its* items, so the 2xx-only-after-stored rule
 * holds, while the JetStream client handles one publish per group instead of one per webhook.
 *
 * The trade-off: a group has no single delivery id, so no `Nats-Msg-Id` dedup; provider retries
 * are stored again and recognized by the worker's ledger of applied event ids instead.
 */
export function createGroupingPublisher<T>(publisher: Publisher, options: GroupingPublisherOptions<T>): GroupingPublisher<T> {
  const maxItems = options.maxItems ?? 500;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const open = new Map<string, Group<T>>();
  let scheduled = false;
  const stats = { groups: 0, items: 0, splits: 0 };

  /**
   * Encodes and publishes the callers `waiters` (contiguous in `items`). Over the byte limit the
   * callers are halved and each half published on its own, down to a single caller, who alone
   * is refused: one oversized webhook never fails the others of its group.
   */
  function publishPart(subject: string, items: T[], waiters: Waiter[]): void {
    const first = waiters[0]!;
    const last = waiters[waiters.length - 1]!;
    const part = first.start === 0 && last.end === items.length ? items : items.slice(first.start, last.end);
    let data: Uint8Array;
    try {
      data = options.encode(part);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    if (data.byteLength > maxBytes) {
      if (waiters.length === 1) {
        first.reject(new QueueMessageTooLargeError(data.byteLength, maxBytes));
        return;
      }
      stats.splits++;
      const mid = waiters.length >> 1;
      publishPart(subject, items, waiters.slice(0, mid));
      publishPart(subject, items, waiters.slice(mid));
      return;
    }
    stats.groups++;
    stats.items += part.length;
    // No Nats-Msg-Id: a group has no delivery id to dedupe on, and the header would cost ~50 B.
    publisher.publish(subject, data, "").then(
      (r) => {
        for (const w of waiters) w.resolve(r);
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  }

  function flush(subject: string, group: Group<T>): void {
    open.delete(subject);
    publishPart(subject, group.items, group.waiters);
  }

  function flushAll(): void {
    scheduled = false;
    for (const [subject, group] of open) flush(subject, group);
  }

  return {
    publish(subject, items) {
      return new Promise<PublishResult>((resolve, reject) => {
        let group = open.get(subject);
        if (!group) open.set(subject, (group = { items: [], waiters: [] }));
        const start = group.items.length;
        for (const item of items) group.items.push(item);
        group.waiters.push({ start, end: group.items.length, resolve, reject });
        if (group.items.length >= maxItems) flush(subject, group);
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flushAll);
        }
      });
    },
    get stats() {
      return stats;
    },
  };
}
