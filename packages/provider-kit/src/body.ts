import { parseForm, parseQuery, type ParseResult } from "./form.js";
import { verifyFailure, type VerifyFailure, type VerifyRequest } from "./verification.js";

/**
 * How a provider's body is read, once per request, for its signature scheme and its mapping:
 * - `json`: the body is JSON (whatever its content type; SNS sends `text/plain`).
 * - `form`: the body is `application/x-www-form-urlencoded` (`FormParams`).
 * - `params`: parameters from wherever the provider puts them: the query of a GET
 *   (`FormParams`), or a POST body that is either a form (`FormParams`) or a JSON
 *   object (as parsed). Vonage sends its delivery receipts all three ways.
 */
export type BodyFormat = "json" | "form" | "params";

// Not fatal, as in the runtime: invalid UTF-8 inside a JSON string becomes U+FFFD.
const utf8 = new TextDecoder("utf-8");
const OPEN_BRACE = 0x7b;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Parses a UTF-8 JSON body. */
export function parseJsonBody(body: Uint8Array): ParseResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(utf8.decode(body)) };
  } catch (error) {
    return { ok: false, detail: `body is not UTF-8 JSON: ${describe(error)}` };
  }
}

/** A JSON body that must be an object. */
function jsonObject(body: Uint8Array): ParseResult<unknown> {
  const parsed = parseJsonBody(body);
  if (!parsed.ok) return parsed;
  const value = parsed.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, detail: "JSON body is not an object" };
  return parsed;
}

/** Parameters of a `params` request: the query of a GET; a JSON object or a form for a POST. */
export function parseParams(request: Pick<VerifyRequest, "body" | "url" | "method">): ParseResult<unknown> {
  if (request.method === "GET" || request.method === "HEAD") return parseQuery(request.url);
  let i = 0;
  const body = request.body;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x09 || body[i] === 0x0a || body[i] === 0x0d)) i++;
  return body[i] === OPEN_BRACE ? jsonObject(body) : parseForm(body);
}

/** Parses a request's body in `format`. */
export function parseBody(format: BodyFormat, request: Pick<VerifyRequest, "body" | "url" | "method">): ParseResult<unknown> {
  if (format === "json") return parseJsonBody(request.body);
  if (format === "form") return parseForm(request.body);
  return parseParams(request);
}

/**
 * The parsed body a scheme verifies: the one the runtime parsed (`request.payload`), or,
 * when a scheme is called directly, parsed here. An unreadable body is `bad_encoding`: it
 * cannot carry a valid signature.
 */
export function payloadOf(request: VerifyRequest, format: BodyFormat): { ok: true; value: unknown } | VerifyFailure {
  if (request.payload !== undefined) return { ok: true, value: request.payload };
  const parsed = parseBody(format, request);
  return parsed.ok ? parsed : verifyFailure("bad_encoding", parsed.detail);
}
