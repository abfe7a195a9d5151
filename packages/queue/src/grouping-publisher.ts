import type { Publisher, PublishResult } from "./publisher.js";

/** Options of {@link createGroupingPublisher}. */
export interface GroupingPublisherOptions<T> {
  /** Encodes the items of one group into one message body. */
  encode(items: T[]): Uint8Array;
  /** A group is published as soon as it holds this many items (default 500). */
  maxItems?: number;
}

/** Publishes items of concurrent callers together, one JetStream message per group. */
export interface GroupingPublisher<T> {
  /**
   * Adds `items` to the open group for `subject` and resolves once the message holding them is
   * stored by JetStream (or rejects with the publisher's error: nothing of the group is stored).
   */
  publish(subject: string, items: readonly T[]): Promise<PublishResult>;
  /** Groups published so far, and the items they carried (for metrics). */
  readonly stats: { groups: number; items: number };
}

interface Group<T> {
  items: T[];
  waiters: { resolve(r: PublishResult): void; reject(err: unknown): void }[];
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
  const open = new Map<string, Group<T>>();
  let scheduled = false;
  const stats = { groups: 0, items: 0 };

  function flush(subject: string, group: Group<T>): void {
    open.delete(subject);
    stats.groups++;
    stats.items += group.items.length;
    let data: Uint8Array;
    try {
      data = options.encode(group.items);
    } catch (err) {
      for (const w of group.waiters) w.reject(err);
      return;
    }
    // No Nats-Msg-Id: a group has no delivery id to dedupe on, and the header would cost ~50 B.
    publisher.publish(subject, data, "").then(
      (r) => {
        for (const w of group.waiters) w.resolve(r);
      },
      (err: unknown) => {
        for (const w of group.waiters) w.reject(err);
      },
    );
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
        for (const item of items) group.items.push(item);
        group.waiters.push({ resolve, reject });
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
