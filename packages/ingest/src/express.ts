import { Router, type Request, type Response } from "express";
import { serveIncoming } from "./incoming.js";
import type { Ingest, IngestResult } from "./ingest.js";

export interface WebhookRouterOptions {
  maxBodyBytes: number;
  /** Called once per request with its result and its duration in seconds (metrics, logs). */
  onResult?: (result: IngestResult, seconds: number, req: Request) => void;
}

/**
 * An express router serving `POST /:provider` with the ingest core. Mount it where you like,
 * e.g. `app.use("/webhooks", createWebhookRouter(ingest, { maxBodyBytes }))`. It reads the raw
 * body itself: do not put a body parser in front of it.
 */
export function createWebhookRouter(ingest: Ingest, options: WebhookRouterOptions): Router {
  const router = Router();
  router.all("/:provider", async (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const result = await serveIncoming(ingest, req, res, String(req.params.provider), req.originalUrl, options.maxBodyBytes);
    options.onResult?.(result, Number(process.hrtime.bigint() - started) / 1e9, req);
  });
  return router;
}
