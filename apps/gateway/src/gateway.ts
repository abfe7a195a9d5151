import { createServer, type Server } from "node:http";
import express from "express";
import { AggregatorRegistry } from "prom-client";
import { createIngest, createNodeWebhookHandler, type EventPublisher, type IngestResult } from "@floodgate/ingest";
import { createWebhookRouter } from "@floodgate/ingest/express";
import {
  createProviderRegistry,
  createProviderRuntime,
  encodeEvents,
  ProviderConfigError,
  type NormalizedEvent,
  type ProviderDefinition,
  type ProviderRuntime,
} from "@floodgate/provider-kit";
import {
  QueueFullError,
  connectQueue,
  createCapacityGuard,
  createGroupingPublisher,
  createPublisher,
  ensureStream,
  subjectFor,
  type QueueConfig,
  type QueueConnection,
} from "@floodgate/queue";
import { closeServer, handleOps, startOpsServer, type Logger } from "@floodgate/service";
import type { GatewayEnv } from "./env.js";
import { createGatewayMetrics } from "./metrics.js";

export interface GatewayOptions {
  env: GatewayEnv;
  queue: QueueConfig;
  providers: readonly ProviderDefinition<unknown>[];
  /** Where provider secrets are read from (normally process.env). */
  secrets: NodeJS.ProcessEnv;
  log: Logger;
  /** Serve /metrics on METRICS_PORT (false in a cluster worker: the primary aggregates). */
  serveMetrics?: boolean;
}

export interface Gateway {
  /** The webhook server (also answers /healthz and /readyz). */
  readonly server: Server;
  /** The Prometheus endpoint's server (METRICS_PORT), unless a cluster primary serves it. */
  readonly metricsServer: Server | undefined;
  readonly queue: QueueConnection;
  readonly providerIds: readonly string[];
  /** Stops accepting requests, lets in-flight ones finish, then closes the NATS connection. */
  close(): Promise<void>;
}

/**
 * Builds the provider runtimes: a provider whose secrets are absent is left out (its webhooks
 * get 404) with a warning; one whose secrets are present but wrong stops the boot.
 */
export function buildProviders(definitions: readonly ProviderDefinition<unknown>[], secrets: NodeJS.ProcessEnv, log: Logger): ProviderRuntime[] {
  const runtimes: ProviderRuntime[] = [];
  for (const definition of definitions) {
    try {
      runtimes.push(createProviderRuntime(definition, secrets));
    } catch (err) {
      const absent = err instanceof ProviderConfigError && err.variables.length > 0 && err.variables.every((v) => !secrets[v]?.trim());
      if (!absent) throw err;
      log.warn({ provider: definition.id, missing: (err as ProviderConfigError).variables }, "provider disabled: its secrets are not set");
    }
  }
  if (runtimes.length === 0) throw new Error("no provider is configured: set TELNYX_PUBLIC_KEY and/or RESEND_WEBHOOK_SECRET");
  return runtimes;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Starts the gateway: connects to NATS, makes sure the stream exists, and listens. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { env, queue: queueConfig, log } = options;
  const registry = createProviderRegistry(buildProviders(options.providers, options.secrets, log));
  const metrics = createGatewayMetrics();
  // In a cluster worker the primary collects this process's metrics over IPC.
  // (prom-client answers the primary only once an AggregatorRegistry exists in this process.)
  if (options.serveMetrics === false) {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
  }

  const queue = await connectQueue({ servers: env.NATS_URL.split(","), name: "floodgate-gateway", log: log.child({ component: "nats" }) });
  await ensureStream(queue.jsm, queueConfig);
  const guard = createCapacityGuard(queue.jsm, queueConfig.stream, {
    intervalMs: env.CAPACITY_CHECK_MS,
    headroom: env.WEBHOOK_STREAM_HEADROOM_PERCENT / 100,
    log: log.child({ component: "capacity" }),
  });
  await guard.refresh();
  const queuePublisher = createPublisher(queue, { timeoutMs: env.PUBLISH_TIMEOUT_MS, maxInFlight: env.PUBLISH_MAX_IN_FLIGHT, guard });
  let publisher: EventPublisher;
  if (env.GATEWAY_GROUPING === "on") {
    const grouping = createGroupingPublisher<NormalizedEvent>(queuePublisher, { encode: encodeEvents, maxItems: env.GATEWAY_GROUP_MAX_EVENTS });
    publisher = { publish: (subject, events) => grouping.publish(subject, events) };
  } else {
    publisher = { publish: (subject, events, deliveryId) => queuePublisher.publish(subject, encodeEvents(events), deliveryId) };
  }

  const ingest = createIngest({
    providers: registry,
    publisher,
    subjectFor: (provider, type) => subjectFor(queueConfig.subjectPrefix, provider, type),
    maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES,
    classifyPublishError: (err) => (err instanceof QueueFullError ? "queue_full" : "queue_unavailable"),
  });

  // `webhookId` (provider:delivery id) and, at debug level, the events' `eventIds` follow a webhook
  // into the worker's logs. Payloads are never logged; rejections say why, not what.
  const onResult = (result: IngestResult, seconds: number) => {
    metrics.observe(result, seconds);
    // Protocol messages (an SNS subscription confirmed or removed) are rare and worth an operator's eye.
    if (result.outcome === "handshake") {
      log.info({ webhookId: result.messageId, provider: result.provider, status: result.status, detail: result.detail }, "provider handshake");
      return;
    }
    // The common case (2xx at info level) allocates nothing for logging.
    if (result.status < 400 && !log.isLevelEnabled("debug")) return;
    const fields = { webhookId: result.messageId, provider: result.provider, type: result.type, outcome: result.outcome, status: result.status, ms: Math.round(seconds * 1e4) / 10 };
    if (result.status >= 500) log.warn({ ...fields, reason: result.reason, detail: result.detail }, "webhook not queued");
    else if (result.status >= 400) log.info({ ...fields, reason: result.reason, detail: result.detail }, "webhook rejected");
    else log.debug({ ...fields, events: result.events, eventIds: result.normalized?.map((e) => e.providerEventId) }, "webhook queued");
  };

  const ops = {
    registry: metrics.registry,
    checks: {
      nats: () => ({ ok: queue.isConnected(), detail: queue.isConnected() ? undefined : "not connected to NATS" }),
      stream: async () => {
        await queue.jsm.streams.info(queueConfig.stream);
        return { ok: true };
      },
    },
  };
  const opsNoMetrics = { checks: ops.checks };

  let server: Server;
  if (env.GATEWAY_HTTP === "express") {
    const app = express();
    app.disable("x-powered-by");
    app.get(["/healthz", "/readyz"], (req, res) => void handleOps(req, res, opsNoMetrics));
    app.use("/webhooks", createWebhookRouter(ingest, { maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES, onResult }));
    server = createServer(app);
  } else {
    const webhooks = createNodeWebhookHandler(ingest, { maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES, onResult });
    server = createServer((req, res) => {
      if (webhooks(req, res) || handleOps(req, res, opsNoMetrics)) return;
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"outcome":"not_found"}');
    });
  }
  // Providers hold connections open; keep them alive longer than typical load balancers do.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;

  const connectedTimer = setInterval(() => metrics.natsConnected.set(queue.isConnected() ? 1 : 0), 1000);
  connectedTimer.unref();
  metrics.natsConnected.set(1);

  await listen(server, env.PORT, env.HOST);
  const metricsServer = options.serveMetrics === false ? undefined : await startOpsServer(env.METRICS_PORT, env.HOST, ops);
  log.info({ port: addressPort(server), metricsPort: metricsServer ? addressPort(metricsServer) : undefined, providers: registry.ids, http: env.GATEWAY_HTTP, grouping: env.GATEWAY_GROUPING, stream: queueConfig.stream }, "gateway listening");

  return {
    server,
    metricsServer,
    queue,
    providerIds: registry.ids,
    async close() {
      clearInterval(connectedTimer);
      guard.stop();
      await closeServer(server);
      if (metricsServer) await closeServer(metricsServer);
      await queue.drain();
    },
  };
}

function addressPort(server: Server): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}
