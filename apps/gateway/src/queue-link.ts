import type { DeadLetterStore, EventPublisher, PublishFailure } from "@floodgate/ingest";
import { encodeEvents, type NormalizedEvent } from "@floodgate/provider-kit";
import {
  QueueFullError,
  QueueMessageTooLargeError,
  QueueUnavailableError,
  createCapacityGuard,
  createGroupingPublisher,
  createPublisher,
  createQueueConnector,
  deadLetterConfigFor,
  ensureDeadLetterStream,
  ensureStream,
  keepRawDeadLetter,
  messageByteLimit,
  readDurability,
  type CapacityGuard,
  type QueueConfig,
  type QueueConnection,
  type QueueConnector,
  type StreamInfo,
} from "@floodgate/queue";
import type { Logger, ReadinessCheck } from "@floodgate/service";
import type { GatewayEnv } from "./env.js";

/**
 * The gateway's side of NATS. It connects in the background, so the gateway listens at once;
 * until NATS answers (and the streams exist) every webhook is refused with a retryable error
 * (503 + Retry-After), readiness says why, and the connector logs that it is waiting.
 */
export interface QueueLink {
  readonly connector: QueueConnector;
  /** Publishes a webhook's events; rejects with QueueUnavailableError until NATS is ready. */
  readonly publisher: EventPublisher;
  /** Keeps verified-but-unmappable webhooks in the dead letters; same contract. */
  readonly deadLetters: DeadLetterStore;
  /** Readiness checks for `/readyz`: connected, stream present. */
  readonly checks: Record<string, ReadinessCheck>;
  isConnected(): boolean;
  /** Stops the capacity guard and drains (or stops waiting for) the connection. */
  close(): Promise<void>;
}

/** What exists once NATS is reachable. */
interface Live {
  publisher: EventPublisher;
  deadLetters: DeadLetterStore;
  guard: CapacityGuard;
}

/** The ingest core's reading of a publish failure. */
export function classifyQueueError(err: unknown): PublishFailure {
  if (err instanceof QueueFullError) return "queue_full";
  if (err instanceof QueueMessageTooLargeError) return "too_large";
  return "queue_unavailable";
}

/** One JetStream message per webhook (dedup by delivery id), or grouped per subject, capped in events and bytes. */
function createEventPublisher(env: GatewayEnv, queue: QueueConnection, guard: CapacityGuard, maxBytes: number, log: Logger): EventPublisher {
  const publisher = createPublisher(queue, { timeoutMs: env.PUBLISH_TIMEOUT_MS, maxInFlight: env.PUBLISH_MAX_IN_FLIGHT, guard, maxBytes, log });
  if (env.GATEWAY_GROUPING === "off") return { publish: (subject, events, deliveryId) => publisher.publish(subject, encodeEvents(events), deliveryId) };
  const grouping = createGroupingPublisher<NormalizedEvent>(publisher, { encode: encodeEvents, maxItems: env.GATEWAY_GROUP_MAX_EVENTS, maxBytes });
  return { publish: (subject, events) => grouping.publish(subject, events) };
}

/**
 * Says at start what a 2xx means on this deployment (version, replicas, sync setting: README,
 * Durability); a warning when one machine's power loss can lose acknowledged webhooks.
 */
async function logDurability(queue: QueueConnection, stream: StreamInfo, env: GatewayEnv, log: Logger): Promise<void> {
  const d = await readDurability(queue.server, stream, env.NATS_MONITOR_URL);
  const line = { nats: "durability", stream: stream.config.name, ...d };
  if (d.atRisk) log.warn(line, `a 2xx means the webhook is ${d.ackMeans}; a single node needs sync_interval: always (nats-server 2.10+; README, Durability)`);
  else log.info(line, `a 2xx means the webhook is ${d.ackMeans}`);
}

/**
 * Runs once NATS answers: the work stream and the dead-letter stream exist (created if needed),
 * the capacity guard reads the fill level, the publishers know the server's message limit.
 * Everything that can fail comes before anything that holds a timer, so a retry leaks nothing.
 */
async function setUpQueue(queue: QueueConnection, env: GatewayEnv, cfg: QueueConfig, log: Logger): Promise<Live> {
  const stream = await ensureStream(queue.jsm, cfg, queue.server);
  const dlq = deadLetterConfigFor(cfg);
  await ensureDeadLetterStream(queue.jsm, dlq);
  const guard = createCapacityGuard(queue.jsm, cfg.stream, {
    intervalMs: env.CAPACITY_CHECK_MS,
    headroom: env.WEBHOOK_STREAM_HEADROOM_PERCENT / 100,
    server: queue.server,
    log: log.child({ component: "capacity" }),
  });
  await guard.refresh();
  const maxBytes = messageByteLimit(queue.nc);
  const maxPayload = queue.nc.info?.max_payload ?? maxBytes;
  // Bodies up to the limit that the plugin cannot map are kept raw: they must fit one message.
  // (The default 1 MiB body limit equals the default max_payload: only the last 2 KiB, the
  // headers' room, cannot be kept, which is not worth a warning at every start.)
  if (env.WEBHOOK_MAX_BODY_BYTES > maxPayload) {
    log.warn(
      { maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES, messageLimit: maxBytes, maxPayload },
      "WEBHOOK_MAX_BODY_BYTES exceeds the server's max_payload: larger webhooks that cannot be mapped get 413 instead of being kept; raise max_payload or lower the limit",
    );
  }
  // Dead letters get a publisher of their own: the capacity guard watches the work stream only.
  const dlqPublisher = createPublisher(queue, { timeoutMs: env.PUBLISH_TIMEOUT_MS, maxInFlight: 64, maxBytes, log });
  await logDurability(queue, stream, env, log);
  log.info({ stream: cfg.stream, deadLetters: dlq.stream, messageLimit: maxBytes, server: queue.nc.getServer() }, "gateway connected to NATS: accepting webhooks");
  return {
    publisher: createEventPublisher(env, queue, guard, maxBytes, log.child({ component: "publisher" })),
    deadLetters: { keep: (webhook) => keepRawDeadLetter(dlqPublisher, dlq, { ...webhook, subjectPrefix: cfg.subjectPrefix }) },
    guard,
  };
}

/** Starts connecting to NATS in the background; see {@link QueueLink}. `onFatal` hears a config the server refuses. */
export function createQueueLink(env: GatewayEnv, cfg: QueueConfig, log: Logger, onFatal: (err: unknown) => void): QueueLink {
  let live: Live | undefined;
  const connector = createQueueConnector({
    servers: env.NATS_URL.split(","),
    name: "floodgate-gateway",
    log: log.child({ component: "nats" }),
    waitLogIntervalMs: env.NATS_WAIT_LOG_MS,
    setup: async (queue) => {
      live = await setUpQueue(queue, env, cfg, log);
    },
  });
  connector.ready.catch((err: unknown) => {
    if (connector.state === "failed") onFatal(err);
  });
  const notYet = () => Promise.reject(new QueueUnavailableError("disconnected", "waiting for NATS"));

  return {
    connector,
    publisher: { publish: (subject, events, deliveryId) => (live ? live.publisher.publish(subject, events, deliveryId) : notYet()) },
    deadLetters: { keep: (webhook) => (live ? live.deadLetters.keep(webhook) : notYet()) },
    checks: {
      nats: () => (connector.isConnected() ? { ok: true } : { ok: false, detail: connector.waitingFor ?? "not connected to NATS" }),
      stream: async () => {
        const queue = connector.connection;
        if (!queue || !live) return { ok: false, detail: "waiting for NATS" };
        await queue.jsm.streams.info(cfg.stream);
        return { ok: true };
      },
    },
    isConnected: () => connector.isConnected() && live !== undefined,
    async close() {
      live?.guard.stop();
      await connector.close();
    },
  };
}
