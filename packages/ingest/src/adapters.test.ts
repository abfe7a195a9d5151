import { createServer, request, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookRouter } from "./express.js";
import { createNodeWebhookHandler } from "./node-http.js";
import type { Ingest, IngestRequest, IngestResult } from "./ingest.js";
import { httpStatusFor } from "./outcome.js";

const seen: IngestRequest[] = [];
const admitted: string[] = [];
/**
 * A stand-in core: echoes the outcome named in the body, so adapters' mapping can be checked;
 * admits POSTs for any provider but `nope`.
 */
const ingest: Ingest = Object.assign(
  async (req: IngestRequest): Promise<IngestResult> => {
    seen.push(req);
    const outcome = Buffer.from(req.body).toString() as IngestResult["outcome"];
    return { outcome, status: httpStatusFor(outcome), provider: req.provider };
  },
  {
    admit(head: { provider: string; method: string }): IngestResult | undefined {
      admitted.push(head.provider);
      if (head.provider === "nope") return { outcome: "unknown_provider", status: 404 };
      if (head.method !== "POST") return { outcome: "method_not_allowed", status: 405, provider: head.provider };
      return undefined;
    },
  },
);

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

  it("answers unknown providers and other methods before reading the body, and closes a connection whose body it left unread", async () => {
    seen.length = 0;
    const url = new URL(bases[name]!);
    // Headers announcing 10 GB and only a few bytes of body: an answer proves nothing waited for (or buffered) the body.
    const ask = (method: string, path: string) =>
      new Promise<{ status: number; closed: boolean; head: string }>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write(`${method} ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10000000000\r\n\r\n{"a":`);
        });
        let answer = "";
        const timer = setTimeout(() => reject(new Error(`no answer to ${method} ${path}: ${answer}`)), 5_000);
        socket.on("data", (d: Buffer) => (answer += d.toString()));
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearTimeout(timer);
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), closed: true, head: answer.split("\r\n\r\n")[0]! });
        });
      });
    const unknown = await ask("POST", "/webhooks/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.head.toLowerCase()).toContain("connection: close");
    const get = await ask("PUT", "/webhooks/telnyx");
    expect(get.status).toBe(405);
    expect(get.head.toLowerCase()).toContain("connection: close");
    expect(seen).toHaveLength(0);
  });

  it("keeps the connection of an early answer when there is no body to skip", async () => {
    const res = await fetch(`${bases[name]}/webhooks/nope`, { method: "POST" , headers: { "content-length": "0" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("connection")).not.toBe("close");
  });

  it("reports each result with its duration", async () => {
    results.length = 0;
    await post("/webhooks/x", "malformed");
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ outcome: "malformed", status: 400 });
  });
});
