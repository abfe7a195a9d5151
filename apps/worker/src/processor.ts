import type { ApplyResult } from "@floodgate/db";
import { decodeEvents, type NormalizedEvent } from "@floodgate/provider-kit";
import type { JsMsg } from "@floodgate/queue";
import { isBrokenCircuitError, type CircuitBreakerPolicy } from "cockatiel";
import { backoffDelay, describeError, isDatabaseUnavailable, isTransactionConflict, type BackoffOptions } from "./failures.js";

/** The part of a JetStream message the processor uses (a JsMsg, or a fake in tests). */
export type Message = Pick<JsMsg, "data" | "seq" | "subject" | "ack" | "nak" | "term"> & {
  info: Pick<JsMsg["info"], "deliveryCount" | "timestampNanos">;
  headers?: { get(key: string): string } | undefined;
};

/** The webhook's id as the gateway logged it (`provider:delivery id`, its Nats-Msg-Id). */
export function webhookIdOf(m: Message): string | undefined {
  return m.headers?.get("Nats-Msg-Id") || undefined;
}

export interface ProcessorOptions<M extends Message = JsMsg> {
  /** Applies events in one transaction (`applyEvents` bound to the pool). */
  apply(events: NormalizedEvent[]): Promise<ApplyResult>;
  /**
   * Moves a message to the dead-letter stream (resolves once stored; then terms it). `events`,
   * when given, are the only part of it to keep: the events of a grouped message that failed.
   */
  deadLetter(msg: M, why: { reason: string; error: string }, events?: NormalizedEvent[]): Promise<void>;
  /** Breaker around the database; it opens on "database unavailable" errors only. */
  breaker: CircuitBreakerPolicy;
  /** Retries after the first failed attempt before a message is dead-lettered (default 3). */
  retries: number;
  backoff: BackoffOptions;
  /** A message delivered more often than this is dead-lettered before processing (crash loops). */
  maxDeliveries: number;
  /** True once shutdown began: held batches stop waiting for the database and are nak'ed. */
  stopping(): boolean;
  /** Called once per message when the processor has settled it (acked, nak'ed or dead-lettered). */
  settled?(msg: M): void;
  /** Observes each committed group of messages. */
  onApplied?(msgs: readonly M[], events: readonly NormalizedEvent[], result: ApplyResult, seconds: number): void;
  /** Observes dead letters, retries and holds; `events` are the message's events when it decoded. */
  onOutcome?(outcome: "dead_lettered" | "retry", msg: M, detail: string, events?: readonly NormalizedEvent[]): void;
  /** Called each time a batch waits for the database to come back. */
  onHeld?(): void;
  log: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  sleep?(ms: number): Promise<void>;
}

interface Item<M> {
  msg: M;
  events: NormalizedEvent[];
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Creates the batch processor the batcher flushes into. For each batch it:
 * - dead-letters at once what can never apply (undecodable bytes, crash loops);
 * - applies the rest in one transaction through the circuit breaker and acks after COMMIT;
 * - while the database is unavailable, holds the batch and retries it without counting an
 *   attempt (the breaker stops the hammering, the full batcher stops the pulling);
 * - on any other failure splits the batch in halves until the culprit is alone, so the good
 *   events commit and only the bad message is nak'ed with backoff, then dead-lettered.
 */
export function createProcessor<M extends Message = JsMsg>(options: ProcessorOptions<M>) {
  const sleep = options.sleep ?? defaultSleep;
  const { log } = options;

  const settle = (m: M) => options.settled?.(m);

  async function toDeadLetters(m: M, reason: string, error: string, events?: readonly NormalizedEvent[], only?: NormalizedEvent[]): Promise<void> {
    try {
      await options.deadLetter(m, { reason, error }, only);
      options.onOutcome?.("dead_lettered", m, reason, only ?? events);
      log.error({ webhookId: webhookIdOf(m), seq: m.seq, subject: m.subject, deliveries: m.info.deliveryCount, events: only?.length, reason, error }, "message dead-lettered");
    } catch (err) {
      // The dead-letter stream could not take it: keep it in the work queue rather than lose it.
      log.error({ webhookId: webhookIdOf(m), seq: m.seq, err: describeError(err) }, "dead-lettering failed; message kept for redelivery");
      m.nak(options.backoff.maxMs);
    }
    settle(m);
  }

  type Attempt = { ok: true; result: ApplyResult; seconds: number } | { ok: false; stopped: true } | { ok: false; stopped: false; err: unknown };

  /**
   * Applies events in one transaction through the breaker. While the database is unavailable it
   * waits and tries again (no attempt is used up); it gives up only on shutdown. Conflicts
   * (deadlock, serialization) are retried at once a few times.
   */
  async function tryApply(events: NormalizedEvent[]): Promise<Attempt> {
    let conflicts = 0;
    for (;;) {
      try {
        const started = performance.now();
        const result = await options.breaker.execute(() => options.apply(events));
        return { ok: true, result, seconds: (performance.now() - started) / 1000 };
      } catch (err) {
        if (isBrokenCircuitError(err) || isDatabaseUnavailable(err)) {
          if (options.stopping()) return { ok: false, stopped: true };
          options.onHeld?.();
          await sleep(500);
          continue;
        }
        if (isTransactionConflict(err) && conflicts++ < 5) {
          await sleep(10 * conflicts);
          continue;
        }
        return { ok: false, stopped: false, err };
      }
    }
  }

  const handBack = (items: Item<M>[]) => {
    for (const i of items) {
      i.msg.nak(options.backoff.baseMs);
      settle(i.msg);
    }
  };

  /**
   * Splits failing events until each failure is alone; everything else is applied (committed)
   * on the way. Returns the events that fail on their own with their errors, or "stopped".
   */
  async function isolateEvents(events: NormalizedEvent[], err: unknown): Promise<{ event: NormalizedEvent; err: unknown }[] | "stopped"> {
    if (events.length === 1) return [{ event: events[0]!, err }];
    const bad: { event: NormalizedEvent; err: unknown }[] = [];
    const half = events.length >> 1;
    for (const part of [events.slice(0, half), events.slice(half)]) {
      const r = await tryApply(part);
      if (r.ok) {
        options.onApplied?.([], part, r.result, r.seconds);
        continue;
      }
      if (r.stopped) return "stopped";
      const found = await isolateEvents(part, r.err);
      if (found === "stopped") return "stopped";
      bad.push(...found);
    }
    return bad;
  }

  async function failOne(item: Item<M>, err: unknown): Promise<void> {
    const m = item.msg;
    let failing = item.events;
    let lastError = err;
    if (item.events.length > 1) {
      // A grouped message carries many webhooks' events: apply all but the culprits.
      const bad = await isolateEvents(item.events, err);
      if (bad === "stopped") return handBack([item]);
      if (bad.length === 0) {
        m.ack();
        settle(m);
        return;
      }
      failing = bad.map((b) => b.event);
      lastError = bad[bad.length - 1]!.err;
    }
    const attempt = m.info.deliveryCount;
    if (attempt > options.retries) {
      const partial = failing.length < item.events.length ? failing : undefined;
      await toDeadLetters(m, "apply_failed", describeError(lastError), failing, partial);
      if (partial) log.warn({ seq: m.seq, applied: item.events.length - failing.length, deadLettered: failing.length }, "grouped message: the other events were applied");
      return;
    }
    // Redelivery applies the good events again as no-ops (ledger) and retries the culprits.
    const delay = backoffDelay(attempt, options.backoff);
    log.warn({ webhookId: webhookIdOf(m), seq: m.seq, attempt, delayMs: delay, failingEvents: failing.length, err: describeError(lastError) }, "message failed; will retry");
    options.onOutcome?.("retry", m, describeError(lastError), failing);
    m.nak(delay);
    settle(m);
  }

  async function applyGroup(items: Item<M>[]): Promise<void> {
    const events = items.flatMap((i) => i.events);
    const r = await tryApply(events);
    if (r.ok) {
      // Acks only after COMMIT: a crash before this line redelivers, and the ledger makes the
      // redelivery change nothing.
      for (const i of items) {
        i.msg.ack();
        settle(i.msg);
      }
      options.onApplied?.(
        items.map((i) => i.msg),
        events,
        r.result,
        r.seconds,
      );
      return;
    }
    if (r.stopped) return handBack(items);
    if (items.length === 1) return failOne(items[0]!, r.err);
    const half = items.length >> 1;
    log.warn({ messages: items.length, err: describeError(r.err) }, "batch failed; splitting it to isolate the culprit");
    await applyGroup(items.slice(0, half));
    await applyGroup(items.slice(half));
  }

  return async function flush(msgs: M[]): Promise<void> {
    const items: Item<M>[] = [];
    for (const m of msgs) {
      if (m.info.deliveryCount > options.maxDeliveries) {
        await toDeadLetters(m, "max_deliveries", `delivered ${m.info.deliveryCount} times without being settled (crash loop?)`);
        continue;
      }
      let events: NormalizedEvent[];
      try {
        events = decodeEvents(m.data);
      } catch (err) {
        await toDeadLetters(m, "undecodable", describeError(err));
        continue;
      }
      items.push({ msg: m, events });
    }
    if (items.length > 0) await applyGroup(items);
  };
}
