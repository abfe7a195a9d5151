import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StoreCompression,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { streamSubject, type QueueConfig } from "./config.js";
import { QueueConfigError } from "./errors.js";
import { serverProfile, type ServerProfile } from "./server-version.js";

const STREAM_NAME_IN_USE = 10058;
const STREAM_UPDATE_REFUSED = 10052;

/**
 * The JetStream config of the webhook stream for `cfg` on `server`: fields a 2.9 server knows,
 * plus `compression` where the server has it (2.10+; sent as "none" too, so switching it off
 * updates the stream). Without a server profile, only the 2.9 fields.
 */
export function streamConfigFor(cfg: QueueConfig, server: ServerProfile = serverProfile(undefined)): Partial<StreamConfig> & { name: string } {
  return {
    ...(server.compression ? { compression: cfg.compression as StoreCompression } : {}),
    name: cfg.stream,
    subjects: [streamSubject(cfg)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: cfg.replicas,
    max_bytes: cfg.maxBytes,
    max_msgs: cfg.maxMsgs,
    max_age: nanos(cfg.maxAgeMs),
    duplicate_window: nanos(cfg.duplicateWindowMs),
    max_msgs_per_subject: cfg.maxMsgsPerSubject,
    // A full work queue must refuse publishes (the provider retries) rather than delete
    // unprocessed webhooks: discard=old, or discard=new without the per-subject flag, drops
    // the oldest messages silently (nats.md §2).
    discard: DiscardPolicy.New,
    discard_new_per_subject: true,
    // Direct get (any replica answers reads by sequence): what `nats stream view` needs to page a
    // work-queue stream (the README's runbook; refused without it).
    allow_direct: true,
  };
}

/**
 * Creates a stream, or updates it in place when it exists with another config (10058).
 * @throws {QueueConfigError} when the server refuses the update (retention, storage).
 */
export async function addOrUpdateStream(jsm: JetStreamManager, want: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.add(want);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NAME_IN_USE) throw err;
    try {
      await jsm.streams.update(want.name, want);
    } catch (updateErr) {
      if (updateErr instanceof JetStreamApiError && updateErr.code === STREAM_UPDATE_REFUSED) {
        throw new QueueConfigError(
          `stream "${want.name}" exists with a config that cannot be updated in place (${updateErr.message}); ` +
            "create a new stream and migrate",
          { cause: updateErr },
        );
      }
      throw updateErr;
    }
  }
}

/**
 * Creates the webhook stream or brings an existing one to `cfg` (add; on 10058 "already in use
 * with a different configuration", update), then reads the config back and checks that the
 * settings that protect unprocessed work took effect: an older server drops unknown fields
 * without an error. Pass the connection's `server` so features it has (compression) are used.
 * @throws {QueueConfigError} when the server refuses the change (e.g. retention or storage,
 * which cannot be updated in place) or the stored config does not match.
 */
export async function ensureStream(jsm: JetStreamManager, cfg: QueueConfig, server?: ServerProfile): Promise<StreamInfo> {
  const want = streamConfigFor(cfg, server);
  await addOrUpdateStream(jsm, want);
  const info = await jsm.streams.info(want.name);
  const got = info.config;
  const mismatches: string[] = [];
  if (got.discard !== DiscardPolicy.New) mismatches.push(`discard=${String(got.discard)}`);
  if (got.discard_new_per_subject !== true) mismatches.push(`discard_new_per_subject=${String(got.discard_new_per_subject)}`);
  if (got.retention !== RetentionPolicy.Workqueue) mismatches.push(`retention=${String(got.retention)}`);
  if (got.max_msgs_per_subject !== want.max_msgs_per_subject) mismatches.push(`max_msgs_per_subject=${got.max_msgs_per_subject}`);
  if (got.max_bytes !== want.max_bytes) mismatches.push(`max_bytes=${got.max_bytes}`);
  if (got.max_msgs !== want.max_msgs) mismatches.push(`max_msgs=${got.max_msgs}`);
  if (want.compression !== undefined && (got.compression ?? "none") !== want.compression) mismatches.push(`compression=${String(got.compression)}`);
  if (got.subjects?.length !== 1 || got.subjects[0] !== want.subjects![0]) mismatches.push(`subjects=${JSON.stringify(got.subjects)}`);
  if (mismatches.length > 0) {
    throw new QueueConfigError(`stream "${want.name}" did not take the expected config: ${mismatches.join(", ")}`);
  }
  return info;
}
