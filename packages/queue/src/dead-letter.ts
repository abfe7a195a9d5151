import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg, type StoredMsg, type StreamConfig } from "@nats-io/jetstream";
import { headers as createHeaders, nanos, type MsgHdrs } from "@nats-io/nats-core";
import type { QueueConfig } from "./config.js";
import { addOrUpdateStream } from "./stream.js";

/**
 * Dead letters: webhooks the worker could not apply after its retries (or could not even
 * decode), kept in a durable stream of their own with why, the last error, the attempt count
 * and the original message, until an operator replays or purges them.
 */

/** Where dead letters of a deployment live: `<stream>_dlq`, subjects `<prefix>_dlq.<provider>.<type>`. */
export interface DeadLetterConfig {
  stream: string;
  subjectPrefix: string;
  /** Dead letters older than this are dropped by the server (default 14 days). */
  maxAgeMs: number;
  maxBytes: number;
  replicas: number;
}

/** The dead-letter stream that belongs to a webhook stream. */
export function deadLetterConfigFor(cfg: QueueConfig): DeadLetterConfig {
  return { stream: `${cfg.stream}_dlq`, subjectPrefix: `${cfg.subjectPrefix}_dlq`, maxAgeMs: 14 * 86_400_000, maxBytes: cfg.maxBytes, replicas: cfg.replicas };
}

/**
 * Creates or updates the dead-letter stream: limits retention (reading a dead letter does not
 * remove it), file storage, and discard-new, so a full dead-letter stream refuses the move and
 * the message simply stays in the work queue instead of something being deleted.
 */
export async function ensureDeadLetterStream(jsm: JetStreamManager, dlq: DeadLetterConfig): Promise<void> {
  const want: Partial<StreamConfig> & { name: string } = {
    name: dlq.stream,
    subjects: [`${dlq.subjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: dlq.replicas,
    max_bytes: dlq.maxBytes,
    max_age: nanos(dlq.maxAgeMs),
    duplicate_window: nanos(120_000),
    discard: DiscardPolicy.New,
  };
  await addOrUpdateStream(jsm, want);
}

/** Header names carried by every dead letter. */
export const DLQ_HEADERS = {
  reason: "Floodgate-Dlq-Reason",
  error: "Floodgate-Dlq-Error",
  attempts: "Floodgate-Dlq-Attempts",
  subject: "Floodgate-Dlq-Original-Subject",
  seq: "Floodgate-Dlq-Original-Seq",
  msgId: "Floodgate-Dlq-Original-Msg-Id",
  at: "Floodgate-Dlq-At",
} as const;

/** Why and how a message was dead-lettered. */
export interface DeadLetterInfo {
  /** A short, countable reason: `apply_failed`, `undecodable`, `crash_loop`, … */
  reason: string;
  /** The last error's message (truncated). */
  error: string;
  /** Deliveries of the original message when it was dead-lettered. */
  attempts: number;
  originalSubject: string;
  originalSeq: number;
  /** The original `Nats-Msg-Id` (the provider's delivery id), when it had one. */
  originalMsgId?: string;
  /** When it was dead-lettered, epoch ms. */
  deadAt: number;
  /** Provider and event type, from the original subject `<prefix>.<provider>.<type>`. */
  provider: string;
  type: string;
}

/** A stored dead letter. */
export interface DeadLetter {
  /** Its sequence in the dead-letter stream: the handle for inspect, replay and purge. */
  seq: number;
  info: DeadLetterInfo;
  /** The original message body (encoded events), byte for byte. */
  data: Uint8Array;
}

/** Which dead letters an operation applies to; every field is optional and they combine with AND. */
export interface DeadLetterFilter {
  provider?: string;
  type?: string;
  reason?: string;
  /** Dead-lettered at or after (epoch ms). */
  since?: number;
  /** Dead-lettered before (epoch ms). */
  until?: number;
}

const MAX_ERROR_CHARS = 1000;

function providerAndType(subject: string): [string, string] {
  const parts = subject.split(".");
  return [parts[parts.length - 2] ?? "", parts[parts.length - 1] ?? ""];
}

/**
 * Moves a message (or the failed part of it) to the dead-letter stream: publishes a copy with the reason, the last error
 * and the attempt count, waits for JetStream's ack, and only then terminates the original, so a
 * crash in between leaves it in the work queue (and the copy's msg id makes the retry a no-op).
 */
export async function deadLetter(
  js: JetStreamClient,
  dlq: DeadLetterConfig,
  msg: JsMsg,
  why: { reason: string; error: string },
  /** The part of the message to keep, when only some of its events failed (default: all of it). */
  data: Uint8Array = msg.data,
): Promise<void> {
  const h = createHeaders();
  const [provider, type] = providerAndType(msg.subject);
  h.set(DLQ_HEADERS.reason, why.reason);
  h.set(DLQ_HEADERS.error, why.error.replace(/[\r\n]+/g, " ").slice(0, MAX_ERROR_CHARS));
  h.set(DLQ_HEADERS.attempts, String(msg.info.deliveryCount));
  h.set(DLQ_HEADERS.subject, msg.subject);
  h.set(DLQ_HEADERS.seq, String(msg.seq));
  const original = msg.headers?.get("Nats-Msg-Id");
  if (original) h.set(DLQ_HEADERS.msgId, original);
  h.set(DLQ_HEADERS.at, String(Date.now()));
  await js.publish(`${dlq.subjectPrefix}.${provider}.${type}`, data, { headers: h, msgID: `dlq:${msg.info.stream}:${msg.seq}` });
  msg.term();
}

function infoOf(h: MsgHdrs | undefined, subject: string): DeadLetterInfo {
  const get = (k: string) => h?.get(k) ?? "";
  const originalSubject = get(DLQ_HEADERS.subject) || subject;
  const [provider, type] = providerAndType(originalSubject);
  const info: DeadLetterInfo = {
    reason: get(DLQ_HEADERS.reason) || "unknown",
    error: get(DLQ_HEADERS.error),
    attempts: Number(get(DLQ_HEADERS.attempts)) || 0,
    originalSubject,
    originalSeq: Number(get(DLQ_HEADERS.seq)) || 0,
    deadAt: Number(get(DLQ_HEADERS.at)) || 0,
    provider,
    type,
  };
  const msgId = get(DLQ_HEADERS.msgId);
  if (msgId) info.originalMsgId = msgId;
  return info;
}

function toDeadLetter(m: StoredMsg): DeadLetter {
  return { seq: m.seq, info: infoOf(m.header, m.subject), data: m.data };
}

/** True when `d` passes `filter`. */
export function matchesFilter(d: DeadLetterInfo, filter: DeadLetterFilter): boolean {
  return (
    (filter.provider === undefined || d.provider === filter.provider) &&
    (filter.type === undefined || d.type === filter.type || d.type === filter.type.replace(/[^A-Za-z0-9_-]/g, "_")) &&
    (filter.reason === undefined || d.reason === filter.reason) &&
    (filter.since === undefined || d.deadAt >= filter.since) &&
    (filter.until === undefined || d.deadAt < filter.until)
  );
}

/** One dead letter by its sequence, or null when there is none (replayed, purged, expired). */
export async function getDeadLetter(jsm: JetStreamManager, dlq: DeadLetterConfig, seq: number): Promise<DeadLetter | null> {
  const m = await jsm.streams.getMessage(dlq.stream, { seq }).catch(() => null);
  return m ? toDeadLetter(m) : null;
}

/** How many dead letters the stream holds. */
export async function countDeadLetters(jsm: JetStreamManager, dlq: DeadLetterConfig): Promise<number> {
  const info = await jsm.streams.info(dlq.stream);
  return info.state.messages;
}

/**
 * Dead letters matching `filter`, oldest first, at most `limit`, starting after sequence
 * `afterSeq` (for paging). Reads by sequence, a bounded number of requests in flight.
 */
export async function listDeadLetters(
  jsm: JetStreamManager,
  dlq: DeadLetterConfig,
  filter: DeadLetterFilter = {},
  page: { limit?: number; afterSeq?: number } = {},
): Promise<DeadLetter[]> {
  const limit = page.limit ?? 100;
  const { state } = await jsm.streams.info(dlq.stream);
  if (state.messages === 0) return [];
  const out: DeadLetter[] = [];
  const chunk = 64;
  for (let seq = Math.max(state.first_seq, (page.afterSeq ?? 0) + 1); seq <= state.last_seq && out.length < limit; seq += chunk) {
    const seqs = Array.from({ length: Math.min(chunk, state.last_seq - seq + 1) }, (_, i) => seq + i);
    const found = await Promise.all(seqs.map((s) => getDeadLetter(jsm, dlq, s)));
    for (const d of found) {
      if (d && matchesFilter(d.info, filter)) {
        out.push(d);
        if (out.length === limit) break;
      }
    }
  }
  return out;
}

/**
 * Puts a dead letter back on the work queue under its original subject, then removes it from
 * the dead-letter stream. Idempotent: the republish carries msg id `replay:<dlq>:<seq>`
 * (JetStream drops a second one inside its window) and the worker's ledger ignores events it
 * has already applied, so replaying twice changes nothing more than replaying once.
 */
export async function replayDeadLetter(js: JetStreamClient, jsm: JetStreamManager, dlq: DeadLetterConfig, seq: number): Promise<"replayed" | "not_found"> {
  const d = await getDeadLetter(jsm, dlq, seq);
  if (!d) return "not_found";
  await js.publish(d.info.originalSubject, d.data, { msgID: `replay:${dlq.stream}:${seq}` });
  await jsm.streams.deleteMessage(dlq.stream, seq, false).catch(() => false);
  return "replayed";
}

/** Replays every dead letter matching `filter`; returns the sequences replayed. */
export async function replayDeadLetters(js: JetStreamClient, jsm: JetStreamManager, dlq: DeadLetterConfig, filter: DeadLetterFilter = {}): Promise<number[]> {
  const done: number[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await listDeadLetters(jsm, dlq, filter, { limit: 500, afterSeq });
    if (page.length === 0) return done;
    for (const d of page) {
      if ((await replayDeadLetter(js, jsm, dlq, d.seq)) === "replayed") done.push(d.seq);
      afterSeq = d.seq;
    }
  }
}

/** Deletes one dead letter by sequence, or every one matching `filter`; returns how many went. */
export async function purgeDeadLetters(jsm: JetStreamManager, dlq: DeadLetterConfig, target: number | DeadLetterFilter): Promise<number> {
  if (typeof target === "number") return (await jsm.streams.deleteMessage(dlq.stream, target, false).catch(() => false)) ? 1 : 0;
  const all = Object.values(target).every((v) => v === undefined);
  if (all) return (await jsm.streams.purge(dlq.stream)).purged;
  let purged = 0;
  let afterSeq = 0;
  for (;;) {
    const page = await listDeadLetters(jsm, dlq, target, { limit: 500, afterSeq });
    if (page.length === 0) return purged;
    for (const d of page) {
      if (await jsm.streams.deleteMessage(dlq.stream, d.seq, false).catch(() => false)) purged++;
      afterSeq = d.seq;
    }
  }
}
