import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyReadError, BodyTooLargeError } from "./errors.js";
import { httpStatusFor } from "./outcome.js";
import { readBody } from "./read-body.js";
import { writeResult } from "./respond.js";
import type { Ingest, IngestResult } from "./ingest.js";

/**
 * Reads a node request's body (within the limit), runs the ingest core on it and writes the
 * answer. Shared by every HTTP adapter, so each outcome is answered the same way everywhere.
 */
export async function serveIncoming(
  ingest: Ingest,
  req: IncomingMessage,
  res: ServerResponse,
  provider: string,
  url: string,
  maxBodyBytes: number,
): Promise<IngestResult> {
  let result: IngestResult;
  try {
    const body = await readBody(req, maxBodyBytes);
    result = await ingest({ provider, body, headers: req.headers, url, method: req.method ?? "GET" });
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      result = { outcome: "too_large", status: httpStatusFor("too_large"), provider, detail: err.message };
      // The rest of an oversized body is not read; do not reuse the connection.
      res.setHeader("connection", "close");
    } else if (err instanceof BodyReadError) {
      result = { outcome: "malformed", status: httpStatusFor("malformed"), provider, reason: "body_read", detail: err.message };
    } else {
      throw err;
    }
  }
  writeResult(res, result);
  return result;
}
