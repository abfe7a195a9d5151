import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookRouter } from "./express.js";
import { createNodeWebhookHandler } from "./node-http.js";
import type { Ingest, IngestRequest, IngestResult } from "./ingest.js";
import { httpStatusFor } from "./outcome.js";

const seen: IngestRequest[] = [];
/** A stand-in core: echoes the outcome named in the body, so adapters' mapping can be checked. */
const ingest: Ingest = async (req) => {
  seen.push(req);
  const outcome = Buffer.from(req.body).toString() as IngestResult["outcome"];
  return { outcome, status: httpStatusFor(outcome), provider: req.provider };
};

const servers: Server[] = [];
const bases: Record<string, string> = {};
const results: IngestResult[] = [];

async function listen(name: string, server: Server) {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  bases[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const app = express();
  app.use("/webhooks", createWebhookRouter(ingest, { maxBodyBytes: 1024, onResult: (r) => results.push(r) }));
  await listen("express", createServer(app));
  const handle = createNodeWebhookHandler(ingest, { maxBodyBytes: 1024, onResult: (r) => results.push(r) });
  await listen(
    "node",
    createServer((req, res) => {
      if (!handle(req, res)) {
        res.statusCode = 404;
        res.end();
      }
    }),
  );
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A chunked POST (no Content-Length), so the limit must be enforced while reading. */
function postChunked(url: string, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? resolve(413) : reject(err)));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe.each(["express", "node"])("%s adapter", (name) => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${bases[name]}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

  it("passes provider, raw body, lower-cased headers and url to the core", async () => {
    seen.length = 0;
    const res = await post("/webhooks/telnyx?attempt=1", "accepted", { "Telnyx-Timestamp": "1700000000" });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ outcome: "accepted" });
    expect(seen[0]).toMatchObject({ provider: "telnyx", url: "/webhooks/telnyx?attempt=1", method: "POST" });
    expect(seen[0]!.headers["telnyx-timestamp"]).toBe("1700000000");
    expect(Buffer.from(seen[0]!.body).toString()).toBe("accepted");
  });

  it("answers 503 with Retry-After when the queue is unavailable", async () => {
    const res = await post("/webhooks/x", "queue_unavailable");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("answers 413 for a body over the limit, declared or streamed, without calling the core", async () => {
    seen.length = 0;
    const res = await post("/webhooks/x", "a".repeat(2048));
    expect(res.status).toBe(413);
    expect(await postChunked(`${bases[name]}/webhooks/x`, [Buffer.alloc(600, 97), Buffer.alloc(600, 97)])).toBe(413);
    expect(seen).toHaveLength(0);
  });

  it("reports each result with its duration", async () => {
    results.length = 0;
    await post("/webhooks/x", "malformed");
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ outcome: "malformed", status: 400 });
  });
});
