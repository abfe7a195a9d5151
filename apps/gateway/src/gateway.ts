import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import express from "express";
import { AggregatorRegistry } from "prom-client";
import { createIngest, createNodeWebhookHandler, type Ingest, type IngestResult } from "@floodgate/ingest";
import { createWebhookRouter } from "@floodgate/ingest/express";
import { createProviderRegistry, createProviderRuntime, ProviderConfigError, type ProviderDefinition, type ProviderRuntime } from "@floodgate/provider-kit";
import { subjectFor, type QueueConfig, type QueueConnector } from "@floodgate/queue";
import { closeServer, handleOps, startOpsServer, type Logger, type OpsOptions } from "@floodgate/service";
import type { GatewayEnv } from "./env.js";
import { createGatewayMetrics, type GatewayMetrics } from "./metrics.js";
import { classifyQueueError, createQueueLink } from "./queue-link.js";

export interface GatewayOptions {
  env: GatewayEnv;
  queue: QueueConfig;
  providers: readonly ProviderDefinition<unknown>[];
  /** Where provider secrets are read from (normally process.env). */
  secrets: NodeJS.ProcessEnv;
  log: Logger;
  /** Serve /metrics on METRICS_PORT (false in a cluster worker: the primary aggregates). */
  serveMetrics?: boolean;
  /**
   * Called when NATS answers but cannot be used for good (bad credentials, a stream config the
   * server refuses). main.ts exits; by default it is only logged.
   */
  onFatal?: (err: unknown) => void;
}

export interface Gateway {
  /** The webhook server (also answers /healthz and /readyz). */
  readonly server: Server;
  /** The Prometheus endpoint's server (METRICS_PORT), unless a cluster primary serves it. */
  readonly metricsServer: Server | undefined;
  /** The NATS connection, established in the background: `ready`, `state`, `connection`. */
  readonly queue: QueueConnector;
  readonly providerIds: readonly string[];
  /** Stops accepting requests, lets in-flight ones finish, then closes the NATS connection. */
  close(): Promise<void>;
}

/**
 * Builds the provider runtimes: a provider whose secrets are absent is left out (its webhooks
 * get 404) with a warning; one whose secrets are present but wrong stops the boot. A secret set
 * under an alias the provider declares (e.g. TELNYX_WEBHOOK_SECRET) works, with a warning that
 * names the preferred variable.
 */
export function buildProviders(definitions: readonly ProviderDefinition<unknown>[], secrets: NodeJS.ProcessEnv, log: Logger): ProviderRuntime[] {
  const runtimes: ProviderRuntime[] = [];
  const disabled: string[] = [];
  for (const definition of definitions) {
    let runtime: ProviderRuntime;
    try {
      runtime = createProviderRuntime(definition, secrets);
    } catch (err) {
      const absent = err instanceof ProviderConfigError && err.variables.length > 0 && err.variables.every((v) => !secrets[v]?.trim());
      if (!absent) throw err;
      const missing = (err as ProviderConfigError).variables;
      log.warn({ provider: definition.id, missing }, "provider disabled: its secrets are not set");
      disabled.push(`${definition.id}: ${missing.join(", ")}`);
      continue;
    }
    for (const { alias, preferred } of runtime.aliasesUsed) {
      log.warn({ provider: definition.id, variable: alias, preferred }, `${alias} is read as ${preferred}: set ${preferred} instead (${alias} is an alias)`);
    }
    runtimes.push(runtime);
  }
  if (runtimes.length === 0) throw new Error(`no provider is configured: set the secrets of at least one (${disabled.join("; ")})`);
  return runtimes;
}

/**
 * In a cluster worker the primary collects this process's metrics over IPC (prom-client answers
 * the primary only once an AggregatorRegistry exists in this process).
 */
function shareMetricsWithPrimary(metrics: GatewayMetrics): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
}

/**
 * Counts every answer and logs what is worth logging. `webhookId` (provider:delivery id) and, at
 * debug level, the events' `eventIds` follow a webhook into the worker's logs. Payloads are
 * never logged; rejections say why, not what.
 */
function observeResults(metrics: GatewayMetrics, log: Logger) {
  return (result: IngestResult, seconds: number) => {
    metrics.observe(result, seconds);
    // Protocol messages (an SNS subscription confirmed or removed) are rare and worth an operator's eye.
    if (result.outcome === "handshake") {
      log.info({ webhookId: result.messageId, provider: result.provider, status: result.status, detail: result.detail }, "provider handshake");
      return;
    }
    // The common case (2xx at info level) allocates nothing for logging.
    if (result.status < 400 && result.outcome !== "dead_lettered" && result.unmapped === undefined && !log.isLevelEnabled("debug")) return;
    const fields = { webhookId: result.messageId, provider: result.provider, type: result.type, outcome: result.outcome, status: result.status, ms: Math.round(seconds * 1e4) / 10 };
    if (result.status >= 500) log.warn({ ...fields, reason: result.reason, detail: result.detail }, "webhook not queued");
    else if (result.status >= 400) log.info({ ...fields, reason: result.reason, detail: result.detail }, "webhook rejected");
    else if (result.outcome === "dead_lettered" || result.unmapped) {
      log.warn({ ...fields, reason: result.reason, detail: result.detail, unmapped: result.unmapped?.length }, "verified webhook the provider plugin cannot map: kept in the dead letters");
    } else log.debug({ ...fields, events: result.events, eventIds: result.normalized?.map((e) => e.providerEventId) }, "webhook queued");
  };
}

/**
 * 404 for any other path, without reading a body it may carry: node would read and discard all
 * of it to keep the connection alive, however large it is announced, so close the connection.
 */
function notFound(req: IncomingMessage, res: ServerResponse): void {
  const length = req.headers["content-length"];
  const body = (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
  res.writeHead(404, body ? { "content-type": "application/json", connection: "close" } : { "content-type": "application/json" });
  res.end('{"outcome":"not_found"}');
}

/** The webhook server: bare node:http (the fast path) or the express adapter; both also answer /healthz and /readyz. */
function createWebhookServer(env: GatewayEnv, ingest: Ingest, onResult: (result: IngestResult, seconds: number) => void, ops: OpsOptions): Server {
  let server: Server;
  if (env.GATEWAY_HTTP === "express") {
    const app = express();
    app.disable("x-powered-by");
    app.get(["/healthz", "/readyz"], (req, res) => void handleOps(req, res, ops));
    app.use("/webhooks", createWebhookRouter(ingest, { maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES, onResult }));
    app.use(notFound);
    server = createServer(app);
  } else {
    const webhooks = createNodeWebhookHandler(ingest, { maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES, onResult });
    server = createServer((req, res) => {
      if (webhooks(req, res) || handleOps(req, res, ops)) return;
      notFound(req, res);
    });
  }
  // Providers hold connections open; keep them alive longer than typical load balancers do.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}

function listen(server: Server, port: number, host: string, backlog?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * Starts the gateway: providers, metrics, the queue link (connecting in the background), the
 * ingest core, then listens at once. Until NATS is reachable it answers /healthz 200, /readyz
 * 503 and webhooks 503 + Retry-After, and starts accepting by itself when NATS arrives.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { env, queue: queueConfig, log } = options;
  const registry = createProviderRegistry(buildProviders(options.providers, options.secrets, log));
  const metrics = createGatewayMetrics(registry.ids);
  if (options.serveMetrics === false) shareMetricsWithPrimary(metrics);

  const link = createQueueLink(env, queueConfig, log, options.onFatal ?? ((err) => log.error({ err }, "NATS cannot be used")));
  const ingest = createIngest({
    providers: registry,
    publisher: link.publisher,
    deadLetters: link.deadLetters,
    subjectFor: (provider, type) => subjectFor(queueConfig.subjectPrefix, provider, type),
    maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES,
    classifyPublishError: classifyQueueError,
  });
  const server = createWebhookServer(env, ingest, observeResults(metrics, log), { checks: link.checks });
  const connectedTimer = setInterval(() => metrics.natsConnected.set(link.isConnected() ? 1 : 0), 1000);
  connectedTimer.unref();

  let metricsServer: Server | undefined;
  try {
    await listen(server, env.PORT, env.HOST, env.GATEWAY_LISTEN_BACKLOG);
    if (options.serveMetrics !== false) metricsServer = await startOpsServer(env.METRICS_PORT, env.HOST, { registry: metrics.registry, checks: link.checks });
  } catch (err) {
    // A port in use: do not leave the connection (or its retries) behind.
    clearInterval(connectedTimer);
    if (server.listening) await closeServer(server);
    await link.close();
    throw err;
  }
  log.info(
    { port: addressPort(server), metricsPort: metricsServer ? addressPort(metricsServer) : undefined, providers: registry.ids, http: env.GATEWAY_HTTP, grouping: env.GATEWAY_GROUPING, stream: queueConfig.stream },
    "gateway listening",
  );

  return {
    server,
    metricsServer,
    queue: link.connector,
    providerIds: registry.ids,
    async close() {
      clearInterval(connectedTimer);
      // A request in flight is answered within the publish deadline (2xx or 503); past it, what
      // is left is a connection that never finished a request, and it is cut.
      await closeServer(server, env.PUBLISH_TIMEOUT_MS + 1000);
      if (metricsServer) await closeServer(metricsServer);
      await link.close();
    },
  };
}

function addressPort(server: Server): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}
