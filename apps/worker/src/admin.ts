import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { DeadLetterRequestError, filterFrom, type DeadLetterOps } from "./dead-letters.js";

/**
 * The admin HTTP API over the dead letters, under `/admin/`, authenticated with
 * `Authorization: Bearer <ADMIN_TOKEN>`:
 *
 *   GET    /admin/dead-letters?provider=&type=&reason=&since=&until=&limit=&after=
 *   GET    /admin/dead-letters/:seq
 *   POST   /admin/dead-letters/:seq/replay          → { seq, result: replayed | still_unmapped }
 *   POST   /admin/dead-letters/replay?provider=&type=&reason=&since=&until=
 *   DELETE /admin/dead-letters/:seq
 *   DELETE /admin/dead-letters?provider=…   (no filter: also needs all=true)
 */
export function createAdminHandler(ops: DeadLetterOps, token: string | undefined) {
  const expected = token ? createHash("sha256").update(token).digest() : undefined;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
    res.end(text);
  };

  /** Constant-time: both sides are hashed to the same length before comparing. */
  const authorized = (req: IncomingMessage) => {
    const header = req.headers.authorization;
    if (!expected || typeof header !== "string" || !header.startsWith("Bearer ")) return false;
    return timingSafeEqual(createHash("sha256").update(header.slice(7)).digest(), expected);
  };

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split("/").filter(Boolean); // ["admin", "dead-letters", ...]
    if (parts[1] !== "dead-letters") return send(res, 404, { error: "not found" });
    const q = Object.fromEntries(url.searchParams);
    const seq = parts[2] !== undefined && /^\d+$/.test(parts[2]) ? Number(parts[2]) : undefined;
    if (parts[2] !== undefined && seq === undefined && parts[2] !== "replay") return send(res, 400, { error: `bad sequence ${JSON.stringify(parts[2])}` });

    if (req.method === "GET" && parts.length === 2) {
      const limit = q.limit ? Number(q.limit) : 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new DeadLetterRequestError("limit must be an integer from 1 to 10000");
      const items = await ops.list(filterFrom(q), limit, q.after ? Number(q.after) : 0);
      return send(res, 200, { count: await ops.count(), items });
    }
    if (req.method === "GET" && seq !== undefined && parts.length === 3) {
      const d = await ops.get(seq);
      return d ? send(res, 200, d) : send(res, 404, { error: `no dead letter ${seq}` });
    }
    if (req.method === "POST" && seq !== undefined && parts[3] === "replay") {
      // still_unmapped: done, but the current plugins cannot map the raw webhook; it is kept again.
      const result = await ops.replay(seq);
      return send(res, result === "not_found" ? 404 : 200, { seq, result });
    }
    if (req.method === "POST" && parts[2] === "replay" && parts.length === 3) {
      const { replayed, stillUnmapped } = await ops.replayMatching(filterFrom(q));
      return send(res, 200, { replayed: replayed.length, seqs: replayed, ...(stillUnmapped.length ? { stillUnmapped } : {}) });
    }
    if (req.method === "DELETE" && seq !== undefined && parts.length === 3) {
      const purged = await ops.purge(seq);
      return send(res, purged ? 200 : 404, { purged });
    }
    if (req.method === "DELETE" && parts.length === 2) {
      return send(res, 200, { purged: await ops.purge(filterFrom(q), q.all === "true") });
    }
    return send(res, 405, { error: `${req.method} not allowed here` });
  }

  /** Handles `/admin/*`; returns false for any other path. */
  return function handleAdmin(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://admin");
    if (!url.pathname.startsWith("/admin/")) return false;
    if (!expected) {
      send(res, 503, { error: "admin API disabled: set ADMIN_TOKEN" });
      return true;
    }
    if (!authorized(req)) {
      res.setHeader("www-authenticate", 'Bearer realm="floodgate-admin"');
      send(res, 401, { error: "unauthorized" });
      return true;
    }
    route(req, res, url).catch((err: unknown) => {
      if (err instanceof DeadLetterRequestError) send(res, 400, { error: err.message });
      else send(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
    return true;
  };
}
