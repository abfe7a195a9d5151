import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** One readiness check: its name and whether it passes (with an optional reason). */
export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }> | { ok: boolean; detail?: string };

/** Where `/metrics` text comes from: a prom-client Registry, or a cluster aggregator. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface OpsOptions {
  /** Prometheus metrics served on `/metrics`; omit to serve no metrics here. */
  registry?: MetricsSource;
  /** Named readiness checks for `/readyz`; `/healthz` only says the process answers. */
  checks?: Record<string, ReadinessCheck>;
  /** More routes for {@link startOpsServer}: return true when the request was handled. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}

/** Runs every readiness check; ready only when all pass. A check that throws fails. */
export async function runChecks(checks: Record<string, ReadinessCheck>): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      try {
        return await checks[name]!();
      } catch (err) {
        return { ok: false, detail: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  const out: Record<string, { ok: boolean; detail?: string }> = {};
  names.forEach((name, i) => (out[name] = results[i]!));
  return { ready: results.every((r) => r.ok), checks: out };
}

/**
 * Serves `/healthz`, `/readyz` and `/metrics` for a request if its path is one of them.
 * Returns false (and writes nothing) for any other path, so it can sit in front of other routes.
 */
export function handleOps(req: IncomingMessage, res: ServerResponse, options: OpsOptions): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const path = (req.url ?? "/").split("?", 1)[0];
  if (path === "/healthz") {
    send(res, 200, "application/json", '{"status":"ok"}');
    return true;
  }
  if (path === "/readyz") {
    runChecks(options.checks ?? {}).then(
      (r) => send(res, r.ready ? 200 : 503, "application/json", JSON.stringify({ status: r.ready ? "ready" : "not_ready", checks: r.checks })),
      (err: unknown) => send(res, 500, "application/json", JSON.stringify({ status: "error", detail: String(err) })),
    );
    return true;
  }
  if (path === "/metrics" && options.registry) {
    const registry = options.registry;
    registry.metrics().then(
      (text) => send(res, 200, registry.contentType, text),
      (err: unknown) => send(res, 500, "text/plain", String(err)),
    );
    return true;
  }
  return false;
}

/** Starts a small HTTP server that only answers the ops endpoints; resolves once listening. */
export function startOpsServer(port: number, host: string, options: OpsOptions): Promise<Server> {
  const server = createServer((req, res) => {
    if (handleOps(req, res, options) || options.routes?.(req, res)) return;
    send(res, 404, "application/json", '{"status":"not_found"}');
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/**
 * Closes a server, resolving when it has stopped accepting and its connections are gone. Idle
 * keep-alive connections close at once; requests in flight get `graceMs` to be answered, then
 * every connection left is cut. Without that bound, one connection that never sent a request
 * (node counts it neither idle nor active) held the close until its client went away.
 */
export function closeServer(server: Server, graceMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
