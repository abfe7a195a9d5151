import type { IncomingMessage, ServerResponse } from "node:http";
import { serveIncoming } from "./incoming.js";
import type { Ingest, IngestResult } from "./ingest.js";

export interface NodeHandlerOptions {
  maxBodyBytes: number;
  /** Path prefix the provider id follows (default `/webhooks/`). */
  prefix?: string;
  /** Called once per request with its result and its duration in seconds (metrics, logs). */
  onResult?: (result: IngestResult, seconds: number) => void;
}

/**
 * A bare `node:http` request handler for `POST <prefix><provider>`, the gateway's fast path.
 * Returns false for a path outside the prefix so the caller can route it elsewhere.
 */
export function createNodeWebhookHandler(ingest: Ingest, options: NodeHandlerOptions) {
  const prefix = options.prefix ?? "/webhooks/";
  return function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? "/";
    if (!url.startsWith(prefix)) return false;
    const query = url.indexOf("?", prefix.length);
    const provider = url.slice(prefix.length, query === -1 ? undefined : query);
    if (provider === "" || provider.includes("/")) return false;
    const started = process.hrtime.bigint();
    serveIncoming(ingest, req, res, provider, url, options.maxBodyBytes).then(
      (result) => options.onResult?.(result, Number(process.hrtime.bigint() - started) / 1e9),
      (err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end('{"outcome":"internal_error"}');
        }
        process.emitWarning(err instanceof Error ? err : new Error(String(err)));
      },
    );
    return true;
  };
}
