import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyReadError, BodyTooLargeError } from "./errors.js";
import { httpStatusFor } from "./outcome.js";
import { readBody } from "./read-body.js";
import { writeResult } from "./respond.js";
import type { Ingest, IngestResult } from "./ingest.js";

/** True when the client sends (or announced) a body. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/**
 * Answers without reading the body. Node would otherwise read and discard all of it to keep the
 * connection alive, however large the client says it is: close the connection instead.
 */
function answerUnread(req: IncomingMessage, res: ServerResponse, result: IngestResult): IngestResult {
  if (hasBody(req)) res.setHeader("connection", "close");
  writeResult(res, result);
  return result;
}

/**
 * Serves one webhook request on a node request/response: asks the core to admit it (provider,
 * method, declared length, content type) before anything of the body is read, then reads the
 * body (within the limit), runs the core and writes the answer. Shared by every HTTP adapter, so
 * each outcome is answered the same way everywhere.
 */
export async function serveIncoming(
  ingest: Ingest,
  req: IncomingMessage,
  res: ServerResponse,
  provider: string,
  url: string,
  maxBodyBytes: number,
): Promise<IngestResult> {
  const method = req.method ?? "GET";
  const refused = ingest.admit({ provider, method, headers: req.headers });
  if (refused) return answerUnread(req, res, refused);

  // Admitted: `provider` is a configured id from here on (safe as a label).
  let result: IngestResult;
  try {
    const body = await readBody(req, maxBodyBytes);
    result = await ingest({ provider, body, headers: req.headers, url, method });
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
