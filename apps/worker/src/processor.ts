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
  /** Retries after the first failed attempt before a message is dead-lettered (default 3); at most `maxDeliver - 2`. */
  retries: number;
  backoff: BackoffOptions;
  /**
   * Redelivery delay of messages handed back on shutdown, ms (default `backoff.baseMs`). Longer
   * than the consumer's pull requests live at the server, so they are not redelivered into this
   * worker's departing request (see the pull consumer's `requestLifetimeMs`).
   */
  handBackDelayMs?: number;
  /**
   * The consumer's max_deliver. The last allowed delivery is never spent on processing (a nak
   * there would strand the message: the server never delivers it again): a message that arrives
   * on it is dead-lettered before it is touched, which also ends crash loops.
   */
  maxDeliver: number;
  /** Called once per message when the processor has settled it (acked, nak'ed or dead-lettered). */
  settled?(msg: M): void;
  /** Observes each committed group of messages. */
  onApplied?(msgs: readonly M[], events: readonly NormalizedEvent[], result: ApplyResult, seconds: number): void;
  /** Observes dead letters, retries and holds; `events` are the message's events when it decoded. */
  onOutcome?(outcome: "dead_lettered" | "retry", msg: M, detail: string, events?: readonly NormalizedEvent[]): void;
  /** Called each time moving a message to the dead letters failed (it is kept and tried again). */
  onDeadLetterFailed?(msg: M, err: unknown): void;
  /** Called each time a batch waits for the database to come back. */
  onHeld?(): void;
  /** Called each time a batch's transaction is retried after a conflict (40P01 deadlock, 40001 serialization failure). */
  onConflict?(err: unknown): void;
  log: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  sleep?(ms: number): Promise<void>;
}

interface Item<M> {
  msg: M;
  events: NormalizedEvent[];
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The batch processor: `flush` is what the batcher calls. */
export interface Processor<M> {
  /** Applies one batch and settles every message of it (or keeps it while it waits for the dead letters). */
  flush(msgs: M[]): Promise<void>;
  /**
   * Shutdown: held batches stop waiting for the database and are handed back (nak'ed), and
   * messages waiting for the dead-letter stream give up (nak'ed, except on their last delivery,
   * where a nak would strand them: those are left to the stranded-message sweeper).
   */
  stop(): void;
  /** Resolves once no message is waiting for the dead-letter stream any more. */
  idle(): Promise<void>;
  /** Messages waiting for the dead-letter stream to accept them. */
  readonly deadLettersPending: number;
}

/**
 * Creates the batch processor the batcher flushes into. For each batch it:
 * - dead-letters at once what can never apply (undecodable bytes) and what arrives on its last
 *   allowed delivery (crash loops, redeliveries after outages);
 * - applies the rest in one transaction through the circuit breaker and acks after COMMIT;
 * - while the database is unavailable, holds the batch and retries it without counting an
 *   attempt (the breaker stops the hammering, the full batcher stops the pulling);
 * - retries conflicts (deadlock, serialization) at once, without counting an attempt;
 * - on a data error splits the batch in halves until the culprit is alone, so the good
 *   events commit and only the bad message is nak'ed with backoff, then dead-lettered;
 * - when the dead-letter stream refuses a message, keeps it (in progress, never nak'ed toward
 *   max_deliver) and tries again with backoff until it is stored or the worker stops.
 */
export function createProcessor<M extends Message = JsMsg>(options: ProcessorOptions<M>): Processor<M> {
  const sleep = options.sleep ?? defaultSleep;
  const { log } = options;
  const handBackDelay = options.handBackDelayMs ?? options.backoff.baseMs;
  let stopping = false;
  let wake!: () => void;
  const stopped = new Promise<void>((r) => (wake = r));
  /** Sleeps, but wakes up at once on stop(). */
  const pause = (ms: number) => Promise.race([sleep(ms), stopped]);
  const moving = new Set<Promise<void>>();

  const settle = (m: M) => options.settled?.(m);

  function moved(m: M, reason: string, error: string, events?: readonly NormalizedEvent[], only?: NormalizedEvent[]): void {
    options.onOutcome?.("dead_lettered", m, reason, only ?? events);
    log.error({ webhookId: webhookIdOf(m), seq: m.seq, subject: m.subject, deliveries: m.info.deliveryCount, events: only?.length, reason, error }, "message dead-lettered");
    settle(m);
  }

  /** Gives a message back to the server, unless that would spend its last delivery. */
  function release(m: M, delayMs: number): void {
    if (m.info.deliveryCount < options.maxDeliver) m.nak(delayMs);
    settle(m);
  }

  /** Keeps trying to store a message in the dead letters, with backoff; never naks it meanwhile. */
  async function keepMoving(m: M, reason: string, error: string, events: readonly NormalizedEvent[] | undefined, only: NormalizedEvent[] | undefined, firstErr: unknown): Promise<void> {
    let err = firstErr;
    for (let attempt = 1; ; attempt++) {
      options.onDeadLetterFailed?.(m, err);
      log.error({ webhookId: webhookIdOf(m), seq: m.seq, attempt, err: describeError(err) }, "dead-lettering failed; message kept in progress and tried again");
      await pause(backoffDelay(attempt, options.backoff));
      if (stopping) {
        log.warn({ webhookId: webhookIdOf(m), seq: m.seq, deliveries: m.info.deliveryCount }, "shutting down with a message the dead-letter stream refused; it stays in the work queue");
        return release(m, handBackDelay);
      }
      try {
        await options.deadLetter(m, { reason, error }, only);
        return moved(m, reason, error, events, only);
      } catch (retryErr) {
        err = retryErr;
      }
    }
  }

  async function toDeadLetters(m: M, reason: string, error: string, events?: readonly NormalizedEvent[], only?: NormalizedEvent[]): Promise<void> {
    try {
      await options.deadLetter(m, { reason, error }, only);
      moved(m, reason, error, events, only);
    } catch (err) {
      // The dead-letter stream could not take it. A nak would bring it back here to fail the same
      // way and, on its last delivery, strand it: keep it in progress instead (the worker keeps
      // its ack timer alive) and retry in the background, so this batch slot is freed.
      const task = keepMoving(m, reason, error, events, only, err).finally(() => moving.delete(task));
      moving.add(task);
    }
  }

  type Attempt = { ok: true; result: ApplyResult; seconds: number } | { ok: false; stopped: true } | { ok: false; stopped: false; err: unknown };

  /**
   * Applies events in one transaction through the breaker. While the database is unavailable it
   * waits and tries again (no attempt is used up); it gives up only on shutdown. Conflicts
   * (deadlock, serialization) are retried after a short pause, never counted.
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
          if (stopping) return { ok: false, stopped: true };
          options.onHeld?.();
          await pause(500);
          continue;
        }
        if (isTransactionConflict(err)) {
          // Not the events' fault: never counted. A short, growing pause lets the other side finish.
          conflicts++;
          options.onConflict?.(err);
          await pause(Math.min(1000, 10 * conflicts));
          continue;
        }
        return { ok: false, stopped: false, err };
      }
    }
  }

  const handBack = (items: Item<M>[]) => {
    for (const i of items) release(i.msg, handBackDelay);
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
    release(m, delay);
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

  async function flush(msgs: M[]): Promise<void> {
    const items: Item<M>[] = [];
    for (const m of msgs) {
      if (m.info.deliveryCount >= options.maxDeliver) {
        await toDeadLetters(m, "max_deliveries", `delivered ${m.info.deliveryCount} times without being settled (crash loop or repeated outages); the last allowed delivery is kept for this move`);
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
  }

  return {
    flush,
    stop() {
      stopping = true;
      wake();
    },
    async idle() {
      while (moving.size > 0) await Promise.allSettled([...moving]);
    },
    get deadLettersPending() {
      return moving.size;
    },
  };
}
