import { QueueConfigError } from "./errors.js";

/** Names and limits of the webhook stream and its worker consumer. */
export interface QueueConfig {
  /** Stream name (WEBHOOK_STREAM). */
  stream: string;
  /** Subject prefix; the stream takes `<prefix>.*.*` (WEBHOOK_SUBJECT_PREFIX). */
  subjectPrefix: string;
  /** Durable name of the shared worker consumer (WEBHOOK_CONSUMER). */
  consumer: string;
  /** Stream replicas: 1 on a single server, 3 in a production cluster. */
  replicas: number;
  /** Stream size limit in bytes; a backstop above `maxMsgs` (see the defaults' notes). */
  maxBytes: number;
  /** Stream message limit; when reached, publishes fail with QueueFullError. The binding limit. */
  maxMsgs: number;
  /** Messages older than this are deleted even if unprocessed, so keep it generous. */
  maxAgeMs: number;
  /** Horizon of Nats-Msg-Id dedup; must cover the longest publisher retry span. */
  duplicateWindowMs: number;
  /** Per `<prefix>.<provider>.<type>` message limit; when reached, that subject refuses publishes. */
  maxMsgsPerSubject: number;
  /** Server-side cap on delivered-but-unacked messages across all workers. */
  maxAckPending: number;
  /** Redelivery delay for a message a worker neither acked nor nak'ed. */
  ackWaitMs: number;
  /** Server-side delivery limit, a backstop above the worker's own DLQ attempt limit. */
  maxDeliver: number;
  /**
   * Stream compression of stored blocks (WEBHOOK_STREAM_COMPRESSION): `s2` or `none`. Sent only
   * to servers that have it (2.10+); a 2.9 server stores uncompressed whatever this says.
   */
  compression: StreamCompression;
}

/** Values of {@link QueueConfig.compression}. */
export const STREAM_COMPRESSIONS = ["s2", "none"] as const;
export type StreamCompression = (typeof STREAM_COMPRESSIONS)[number];

/**
 * Defaults. Sizing notes:
 * - maxMsgs 3.5 M is the limit meant to bind, with maxBytes 1 GiB behind it as a backstop. On
 *   nats-server 2.9 (fixed in 2.10.5, nats-server#4771/#4772) discard-new checks max_bytes
 *   against payload + headers while the store counts whole records (+ subject + ~34 B), so a
 *   stream at its byte limit can still accept a message and then evict the OLDEST one to make
 *   room: silent loss. The message-count check is exact on every version. A webhook record is
 *   ~270 B (subject, Nats-Msg-Id, ~124 B encoded event), so 3.5 M fill ~0.95 GB; webhooks
 *   averaging over ~300 B would reach max_bytes first (the gateway's fullness guard covers that).
 * - maxMsgsPerSubject 10 M: the server requires a positive value for discard_new_per_subject,
 *   and the design's 10 000 would have refused a single provider/type's backlog long before the
 *   stream is full. 10 M never binds below ~2 GB, but still stops one subject from taking
 *   everything if max_bytes is raised.
 * - maxAckPending 20 000 = 20 workers × 1 000 unacked each; the server stops delivering at this
 *   cap, so it must be >= workers × per-worker maxPending or it throttles silently.
 * - maxDeliver 10: backstop only; the worker dead-letters earlier on its own attempt count.
 * - compression s2 on servers that have it (2.10+): stored blocks shrink on disk (README,
 *   Durability); `max_bytes` and the stream's reported bytes still count uncompressed records.
 */
export const defaultQueueConfig: Readonly<QueueConfig> = Object.freeze({
  stream: "webhooks",
  subjectPrefix: "webhook",
  consumer: "webhook-workers",
  replicas: 1,
  maxBytes: 1024 ** 3,
  maxMsgs: 3_500_000,
  maxAgeMs: 24 * 3600_000,
  duplicateWindowMs: 60_000,
  maxMsgsPerSubject: 10_000_000,
  maxAckPending: 20_000,
  ackWaitMs: 30_000,
  maxDeliver: 10,
  compression: "s2",
});

/** Environment variables read by {@link queueConfigFromEnv}. */
export const queueEnvNames = {
  stream: "WEBHOOK_STREAM",
  subjectPrefix: "WEBHOOK_SUBJECT_PREFIX",
  consumer: "WEBHOOK_CONSUMER",
  replicas: "WEBHOOK_STREAM_REPLICAS",
  maxBytes: "WEBHOOK_STREAM_MAX_BYTES",
  maxMsgs: "WEBHOOK_STREAM_MAX_MSGS",
  maxAgeMs: "WEBHOOK_STREAM_MAX_AGE_MS",
  duplicateWindowMs: "WEBHOOK_DUPLICATE_WINDOW_MS",
  maxAckPending: "WEBHOOK_MAX_ACK_PENDING",
  ackWaitMs: "WEBHOOK_ACK_WAIT_MS",
  maxDeliver: "WEBHOOK_MAX_DELIVER",
  compression: "WEBHOOK_STREAM_COMPRESSION",
} as const;

/** The numeric settings that can come from the environment. */
const NUMERIC_ENV = ["replicas", "maxBytes", "maxMsgs", "maxAgeMs", "duplicateWindowMs", "maxAckPending", "ackWaitMs", "maxDeliver"] as const;

// Stream and consumer names end up in API subjects and on disk: no whitespace, dots, wildcards
// or path separators. Kept to a conservative charset so a name that works here works everywhere.
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const PREFIX_TOKEN = /^[A-Za-z0-9_-]+$/;

/** Returns a list of problems with `cfg`; empty when it is valid. */
export function validateQueueConfig(cfg: QueueConfig): string[] {
  const problems: string[] = [];
  if (!NAME.test(cfg.stream)) problems.push(`stream "${cfg.stream}" must match ${String(NAME)}`);
  if (!NAME.test(cfg.consumer)) problems.push(`consumer "${cfg.consumer}" must match ${String(NAME)}`);
  const tokens = cfg.subjectPrefix.split(".");
  if (cfg.subjectPrefix.length === 0 || !tokens.every((t) => PREFIX_TOKEN.test(t))) {
    problems.push(
      `subjectPrefix "${cfg.subjectPrefix}" must be dot-separated tokens of [A-Za-z0-9_-] (no wildcards, no empty tokens)`,
    );
  }
  const positiveInts: (keyof QueueConfig)[] = [
    "replicas",
    "maxBytes",
    "maxMsgs",
    "maxAgeMs",
    "duplicateWindowMs",
    "maxMsgsPerSubject",
    "maxAckPending",
    "ackWaitMs",
    "maxDeliver",
  ];
  for (const key of positiveInts) {
    const v = cfg[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
      problems.push(`${key} must be a positive integer, got ${String(v)}`);
    }
  }
  if (!STREAM_COMPRESSIONS.includes(cfg.compression)) problems.push(`compression must be one of ${STREAM_COMPRESSIONS.join(", ")}, got ${String(cfg.compression)}`);
  if (cfg.replicas > 5) problems.push(`replicas must be 1..5, got ${cfg.replicas}`);
  if (cfg.duplicateWindowMs > cfg.maxAgeMs) {
    problems.push(`duplicateWindowMs (${cfg.duplicateWindowMs}) must be <= maxAgeMs (${cfg.maxAgeMs})`);
  }
  return problems;
}

/**
 * Builds a validated config from environment variables (see {@link queueEnvNames}); unset or
 * empty variables keep the value from `base`.
 * @throws {QueueConfigError} listing every problem, naming the variable that caused it.
 */
export function queueConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  base: Readonly<QueueConfig> = defaultQueueConfig,
): QueueConfig {
  const cfg: QueueConfig = { ...base };
  const problems: string[] = [];
  const str = (v: string | undefined): string | undefined => (v === undefined || v.trim() === "" ? undefined : v.trim());

  cfg.stream = str(env[queueEnvNames.stream]) ?? cfg.stream;
  cfg.subjectPrefix = str(env[queueEnvNames.subjectPrefix]) ?? cfg.subjectPrefix;
  cfg.consumer = str(env[queueEnvNames.consumer]) ?? cfg.consumer;
  cfg.compression = (str(env[queueEnvNames.compression]) as StreamCompression | undefined) ?? cfg.compression;
  for (const key of NUMERIC_ENV) {
    const raw = str(env[queueEnvNames[key]]);
    if (raw === undefined) continue;
    if (/^\d+$/.test(raw)) cfg[key] = Number(raw);
    else problems.push(`${queueEnvNames[key]}: "${raw}" is not an integer`);
  }

  for (const p of validateQueueConfig(cfg)) {
    const key = p.split(" ")[0] as keyof typeof queueEnvNames;
    const envName = queueEnvNames[key];
    problems.push(envName === undefined ? p : `${envName}: ${p}`);
  }
  if (problems.length > 0) {
    throw new QueueConfigError(`invalid queue configuration: ${problems.join("; ")}`);
  }
  return cfg;
}

/** The subject filter of the stream: `<prefix>.*.*`. */
export function streamSubject(cfg: Pick<QueueConfig, "subjectPrefix">): string {
  return `${cfg.subjectPrefix}.*.*`;
}
