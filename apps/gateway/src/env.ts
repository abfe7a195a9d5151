import { enumVar, intVar, parseEnv, stringVar, urlVar } from "@floodgate/service";
import { z } from "zod";

/** An optional http(s) URL; blank means unset. */
function optionalHttpUrl() {
  return z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()))
    .refine((s) => s === undefined || (/^https?:\/\//.test(s) && URL.canParse(s)), { message: "expected a URL starting with http:// or https://" });
}

/**
 * The gateway's configuration, read once from the environment. Provider secrets
 * (TELNYX_PUBLIC_KEY, RESEND_WEBHOOK_SECRET, …) are read by each provider's own config schema;
 * queue names (WEBHOOK_STREAM, WEBHOOK_SUBJECT_PREFIX) by the queue package.
 */
export function readGatewayEnv(env: NodeJS.ProcessEnv = process.env) {
  return parseEnv(
    {
      PORT: intVar(3000, 0, 65535),
      HOST: stringVar("0.0.0.0", /^[0-9a-fA-F.:]+$|^localhost$/, "an IP address to listen on"),
      METRICS_PORT: intVar(6001, 0, 65535),
      NATS_URL: urlVar("nats://127.0.0.1:4222", ["nats:", "tls:"]),
      /**
       * nats-server's monitoring endpoint (`http: 8222` in its config), e.g. http://nats:8222: the
       * durability line at start reads the server's sync setting from its /varz.
       */
      NATS_MONITOR_URL: optionalHttpUrl(),
      /** While NATS cannot be reached, "waiting for NATS" is logged this often, ms. */
      NATS_WAIT_LOG_MS: intVar(10_000, 100, 600_000),
      /** Largest webhook body accepted; 1 MiB covers every provider's largest payload. */
      WEBHOOK_MAX_BODY_BYTES: intVar(1024 * 1024, 1024, 64 * 1024 * 1024),
      /** Deadline for JetStream to confirm a webhook; well inside Telnyx's 2 s timeout. */
      PUBLISH_TIMEOUT_MS: intVar(1500, 50, 60_000),
      /** Publishes awaiting a JetStream ack at once (process-wide). */
      PUBLISH_MAX_IN_FLIGHT: intVar(256, 1, 100_000),
      /** Percent of the stream's max_bytes kept free: webhooks are refused (503) inside it. */
      WEBHOOK_STREAM_HEADROOM_PERCENT: intVar(2, 0, 50),
      /** How often the stream's fill level is read for that check, ms. */
      CAPACITY_CHECK_MS: intVar(500, 10, 60_000),
      /**
       * `on`: webhooks answered in the same event-loop turn share one JetStream message per
       * subject (several times the throughput, a fraction of the storage); each is still answered
       * only after its message is stored. Dedup of provider retries then happens in the worker's
       * ledger instead of JetStream's msg-id window. `off`: one message per webhook, Nats-Msg-Id set.
       */
      GATEWAY_GROUPING: enumVar(["on", "off"] as const, "on"),
      /** Most events in one grouped message. */
      GATEWAY_GROUP_MAX_EVENTS: intVar(500, 1, 100_000),
      /** `node` (bare node:http, the fast path) or `express` (the express adapter). */
      GATEWAY_HTTP: enumVar(["node", "express"] as const, "node"),
      /**
       * Connections the kernel holds ready for the gateway to accept (the listen backlog; Linux caps
       * it at net.core.somaxconn). node's default, 511, overflows when providers open many
       * connections at once: the kernel then drops their SYNs and each waits a 1 s retransmit.
       */
      GATEWAY_LISTEN_BACKLOG: intVar(4096, 1, 65535),
      /** Gateway processes sharing PORT (node:cluster); metrics are aggregated on METRICS_PORT. */
      GATEWAY_PROCESSES: intVar(1, 1, 64),
      SHUTDOWN_TIMEOUT_MS: intVar(10_000, 100, 600_000),
      LOG_LEVEL: enumVar(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
    },
    env,
  );
}

export type GatewayEnv = ReturnType<typeof readGatewayEnv>;
