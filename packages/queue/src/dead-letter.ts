import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg, type StoredMsg, type StreamConfig } from "@nats-io/jetstream";
import { createHash } from "node:crypto";
import { headers as createHeaders, nanos, type MsgHdrs } from "@nats-io/nats-core";
import type { QueueConfig } from "./config.js";
import { DeadLetterReplayError } from "./errors.js";
import type { Publisher } from "./publisher.js";
import { addOrUpdateStream } from "./stream.js";
import { sanitizeToken } from "./subject.js";

/**
 * Dead letters, kept in a durable stream of their own until an operator replays or purges them:
 * - `events` letters: webhooks the worker could not apply after its retries (or could not even
 *   decode), with why, the last error, the attempt count and the original message;
 * - `raw` letters: webhooks whose signature the gateway verified but whose body the provider
 *   plugin could not map (`unsupported_event`, `malformed`), kept byte for byte with the delivery
 *   id and the headers extraction needs, so a replay can run them through a newer plugin.
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
  await addOrUpdateStream(jsm, deadLetterStreamConfigFor(dlq));
}

/** The JetStream config of the dead-letter stream (see {@link ensureDeadLetterStream}). */
export function deadLetterStreamConfigFor(dlq: DeadLetterConfig): Partial<StreamConfig> & { name: string } {
  return {
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
  /** `raw` for a verified body kept unmapped; absent for encoded events. */
  kind: "Floodgate-Dlq-Kind",
  /** Raw letters: the signature scheme that verified the body on receipt (replay trusts it). */
  verified: "Floodgate-Dlq-Verified",
  /** Raw letters: the delivery id the signature covered (`svix-id`), when the scheme has one. */
  deliveryId: "Floodgate-Dlq-Delivery-Id",
  /** Raw letters: the request's Content-Type. */
  contentType: "Floodgate-Dlq-Content-Type",
} as const;

/** What a dead letter's body is: encoded events (the worker's) or a raw verified body (the gateway's). */
export type DeadLetterKind = "events" | "raw";

/** What a raw letter keeps of the request besides its body. */
export interface RawRequestInfo {
  /** The signature scheme that verified it on receipt, e.g. `standard-webhooks`. */
  verifiedBy: string;
  /** The delivery id the signature covered, when the scheme has one; extraction needs it. */
  deliveryId?: string;
  contentType?: string;
}

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
  kind: DeadLetterKind;
  /** Raw letters only. */
  raw?: RawRequestInfo;
}

/** A stored dead letter. */
export interface DeadLetter {
  /** Its sequence in the dead-letter stream: the handle for inspect, replay and purge. */
  seq: number;
  info: DeadLetterInfo;
  /** The original message body (encoded events), or the raw request body, byte for byte. */
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

/** A verified body (or part of one) the provider plugin could not map, to be kept raw. */
export interface RawDeadLetter extends RawRequestInfo {
  provider: string;
  /** `unsupported_event` or `malformed`. */
  reason: string;
  /** The plugin's explanation (no payload data). */
  detail: string;
  body: Uint8Array;
  /** The work-queue subject prefix its events will go to on replay (`WEBHOOK_SUBJECT_PREFIX`). */
  subjectPrefix: string;
  /** Replays that failed again so far (0 when first kept). */
  attempts?: number;
}

/**
 * A raw letter's body may be as large as a message can be: its headers must fit the room kept
 * for them below max_payload (HEADER_RESERVE_BYTES), so the plugin's detail is kept shorter.
 */
const MAX_RAW_DETAIL_CHARS = 300;

/** The type token of a raw letter's subject: the plugin could not say what type the body is. */
export const RAW_TYPE_TOKEN = "unmapped";

function rawHeaders(letter: RawDeadLetter): MsgHdrs {
  const h = createHeaders();
  h.set(DLQ_HEADERS.kind, "raw");
  h.set(DLQ_HEADERS.reason, letter.reason);
  h.set(DLQ_HEADERS.error, letter.detail.replace(/[\r\n]+/g, " ").slice(0, MAX_RAW_DETAIL_CHARS));
  h.set(DLQ_HEADERS.attempts, String(letter.attempts ?? 0));
  h.set(DLQ_HEADERS.subject, `${letter.subjectPrefix}.${sanitizeToken(letter.provider)}.${RAW_TYPE_TOKEN}`);
  h.set(DLQ_HEADERS.verified, letter.verifiedBy);
  if (letter.deliveryId) {
    h.set(DLQ_HEADERS.deliveryId, letter.deliveryId);
    h.set(DLQ_HEADERS.msgId, `${letter.provider}:${letter.deliveryId}`);
  }
  if (letter.contentType) h.set(DLQ_HEADERS.contentType, letter.contentType.slice(0, 200));
  h.set(DLQ_HEADERS.at, String(Date.now()));
  return h;
}

function rawSubject(dlq: DeadLetterConfig, provider: string): string {
  return `${dlq.subjectPrefix}.${sanitizeToken(provider)}.${RAW_TYPE_TOKEN}`;
}

/**
 * Keeps a verified body the plugin could not map in the dead-letter stream; resolves once
 * JetStream acked it (the gateway answers 2xx only then). The msg id is derived from the
 * provider and the body, so a provider retry inside the dead-letter stream's duplicate window
 * is not kept twice.
 * @throws what {@link Publisher.publish} throws (full, unavailable, too large).
 */
export async function keepRawDeadLetter(publisher: Publisher, dlq: DeadLetterConfig, letter: RawDeadLetter): Promise<void> {
  const digest = createHash("sha256").update(letter.provider).update("\0").update(letter.body).digest("hex").slice(0, 32);
  await publisher.publish(rawSubject(dlq, letter.provider), letter.body, `raw:${letter.provider}:${digest}`, rawHeaders(letter));
}

/** The work-queue subject prefix a raw letter's events go to: its original subject minus `.<provider>.<type>`. */
export function workSubjectPrefixOf(info: DeadLetterInfo): string {
  return info.originalSubject.split(".").slice(0, -2).join(".");
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
    kind: get(DLQ_HEADERS.kind) === "raw" ? "raw" : "events",
  };
  const msgId = get(DLQ_HEADERS.msgId);
  if (msgId) info.originalMsgId = msgId;
  if (info.kind === "raw") {
    info.raw = { verifiedBy: get(DLQ_HEADERS.verified) };
    const deliveryId = get(DLQ_HEADERS.deliveryId);
    const contentType = get(DLQ_HEADERS.contentType);
    if (deliveryId) info.raw.deliveryId = deliveryId;
    if (contentType) info.raw.contentType = contentType;
  }
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
 * Dead letters matching `filter`, oldest first, at most `limit`, after sequence `afterSeq` and
 * up to `untilSeq` (for paging, and for snapshots). Reads by sequence, a bounded number of
 * requests in flight.
 */
export async function listDeadLetters(
  jsm: JetStreamManager,
  dlq: DeadLetterConfig,
  filter: DeadLetterFilter = {},
  page: { limit?: number; afterSeq?: number; untilSeq?: number } = {},
): Promise<DeadLetter[]> {
  const limit = page.limit ?? 100;
  const { state } = await jsm.streams.info(dlq.stream);
  if (state.messages === 0) return [];
  const out: DeadLetter[] = [];
  const chunk = 64;
  const lastSeq = Math.min(state.last_seq, page.untilSeq ?? Number.POSITIVE_INFINITY);
  for (let seq = Math.max(state.first_seq, (page.afterSeq ?? 0) + 1); seq <= lastSeq && out.length < limit; seq += chunk) {
    const seqs = Array.from({ length: Math.min(chunk, lastSeq - seq + 1) }, (_, i) => seq + i);
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

/** What a raw letter becomes when run through the current provider plugins (see {@link ReplayOptions}). */
export interface RawReplay {
  /** Messages for the work queue: the events the plugin maps the body to, encoded. */
  messages: { subject: string; data: Uint8Array }[];
  /** What the plugin still cannot map: kept again as raw letters with the new reason and detail. */
  unmapped: { reason: string; detail: string; body: Uint8Array }[];
}

/** How replays treat raw letters (verified bodies kept unmapped by the gateway). */
export interface ReplayOptions {
  /**
   * Runs a raw letter through the current provider plugins (no second signature check: it was
   * verified on receipt, and the letter says so). Without it, replaying a raw letter throws
   * {@link DeadLetterReplayError}.
   */
  resolveRaw?(letter: DeadLetter): RawReplay;
}

/**
 * `replayed`: everything is back on the work queue; `still_unmapped`: a raw letter the current
 * plugins still cannot (fully) map stays a dead letter, under a new sequence, with the new error
 * (what they could map was queued); `not_found`: no such letter.
 */
export type ReplayOutcome = "replayed" | "still_unmapped" | "not_found";

async function replayRaw(js: JetStreamClient, dlq: DeadLetterConfig, d: DeadLetter, options: ReplayOptions): Promise<ReplayOutcome> {
  if (!options.resolveRaw) throw new DeadLetterReplayError(`dead letter ${d.seq} is a raw webhook: replaying it needs the provider plugins`);
  const plan = options.resolveRaw(d);
  const raw = d.info.raw ?? { verifiedBy: "" };
  // Fixed msg ids: a replay retried after a crash stores nothing twice inside the windows.
  for (const [i, m] of plan.messages.entries()) {
    await js.publish(m.subject, m.data, { msgID: `replay:${dlq.stream}:${d.seq}${i === 0 ? "" : `:${i}`}` });
  }
  for (const [i, part] of plan.unmapped.entries()) {
    const headers = rawHeaders({
      ...raw,
      provider: d.info.provider,
      reason: part.reason,
      detail: part.detail,
      body: part.body,
      subjectPrefix: workSubjectPrefixOf(d.info),
      attempts: d.info.attempts + 1,
    });
    await js.publish(rawSubject(dlq, d.info.provider), part.body, { headers, msgID: `rekeep:${dlq.stream}:${d.seq}:${i}` });
  }
  return plan.unmapped.length > 0 ? "still_unmapped" : "replayed";
}

/**
 * Replays a dead letter, then removes it from the dead-letter stream. An events letter goes back
 * on the work queue under its original subject; a raw letter is mapped by the current plugins
 * (`options.resolveRaw`), its events queued and what still cannot be mapped kept again.
 * Idempotent: republished messages carry msg ids derived from the letter's sequence
 * (`replay:<dlq>:<seq>`; JetStream drops a second one inside its window) and the worker's
 * ledger ignores events it has already applied, so replaying twice changes nothing more than
 * replaying once.
 */
export async function replayDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  dlq: DeadLetterConfig,
  seq: number,
  options: ReplayOptions = {},
): Promise<ReplayOutcome> {
  const d = await getDeadLetter(jsm, dlq, seq);
  if (!d) return "not_found";
  let outcome: ReplayOutcome = "replayed";
  if (d.info.kind === "raw") outcome = await replayRaw(js, dlq, d, options);
  else await js.publish(d.info.originalSubject, d.data, { msgID: `replay:${dlq.stream}:${seq}` });
  await jsm.streams.deleteMessage(dlq.stream, seq, false).catch(() => false);
  return outcome;
}

/** What {@link replayDeadLetters} did, by sequence. */
export interface ReplayAllResult {
  replayed: number[];
  /** Raw letters kept again because the current plugins still cannot map them. */
  stillUnmapped: number[];
}

/**
 * Replays every dead letter matching `filter` that exists when it starts: the stream's last
 * sequence is read first, and letters added after it (an event that fails again and is
 * dead-lettered anew, a raw letter kept again) wait for the next run instead of being replayed
 * in an endless loop.
 */
export async function replayDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  dlq: DeadLetterConfig,
  filter: DeadLetterFilter = {},
  options: ReplayOptions = {},
): Promise<ReplayAllResult> {
  const untilSeq = (await jsm.streams.info(dlq.stream)).state.last_seq;
  const result: ReplayAllResult = { replayed: [], stillUnmapped: [] };
  let afterSeq = 0;
  for (;;) {
    const page = await listDeadLetters(jsm, dlq, filter, { limit: 500, afterSeq, untilSeq });
    if (page.length === 0) return result;
    for (const d of page) {
      const outcome = await replayDeadLetter(js, jsm, dlq, d.seq, options);
      if (outcome === "replayed") result.replayed.push(d.seq);
      else if (outcome === "still_unmapped") result.stillUnmapped.push(d.seq);
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
