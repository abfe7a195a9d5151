import { createHmac, timingSafeEqual, type Hmac } from "node:crypto";
import { payloadOf } from "../body.js";
import { InvalidSchemeParamsError } from "../errors.js";
import { readHeader } from "../headers.js";
import { createReplayGuard, type ReplayGuard } from "../replay-guard.js";
import { checkTimestamp, isValidTolerance, parseTimestampSeconds } from "../timestamp.js";
import { VERIFIED, verifyFailure, type VerifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** Where a signature input is read: a header, or a string field of a JSON body (a path of keys). */
export type HmacSource = { readonly header: string } | { readonly field: readonly string[] };

/** One piece of the signed bytes, in order. */
export type HmacSignedPart = "body" | "timestamp" | "nonce" | { readonly literal: string };

/** HMAC algorithms the kit accepts. */
export type HmacAlgorithm = "sha1" | "sha256" | "sha512" | "md5";

/** Parameters of the {@link hmac} scheme. */
export interface HmacParams {
  /** Secrets, used as their UTF-8 bytes. Several for rotation; empty means fail closed. */
  secrets: readonly string[];
  algorithm: HmacAlgorithm;
  /** How the signature is written: `base64` (standard, padded) or `hex` (either case). */
  encoding: "base64" | "hex";
  signature: HmacSource;
  /** The signed Unix-seconds timestamp and how far it may be from the clock, both ways. */
  timestamp?: HmacSource & { readonly toleranceSeconds: number };
  /**
   * The signed nonce (a token). `singleUse` remembers each for the timestamp's window and
   * refuses it again (`replayed`); it needs `timestamp`, which bounds how long to remember.
   */
  nonce?: HmacSource & { readonly singleUse?: boolean; readonly capacity?: number };
  /** The signed bytes: e.g. Sinch `["body", {literal:"."}, "nonce", {literal:"."}, "timestamp"]`, Mailgun `["timestamp", "nonce"]`. */
  signed: readonly HmacSignedPart[];
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX = /^[0-9a-fA-F]+$/;
const DIGEST_BYTES: Record<HmacAlgorithm, number> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };
const MAX_TOKEN_LENGTH = 256;

function describeSource(source: HmacSource): string {
  return "header" in source ? `header ${source.header}` : `field ${source.field.join(".")}`;
}

/** Reads a source: a header by the kit's rules, or a string (or integer) JSON field. */
function readSource(source: HmacSource, request: VerifyRequest, payload: unknown): string | VerifyFailure {
  if ("header" in source) return readHeader(request.headers, source.header);
  let node: unknown = payload;
  for (const key of source.field) {
    if (typeof node !== "object" || node === null || Array.isArray(node) || !Object.hasOwn(node, key)) {
      return verifyFailure("missing_header", `${describeSource(source)} is missing`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node === "number" && Number.isSafeInteger(node) && node >= 0) return String(node);
  if (typeof node !== "string") return verifyFailure(node === undefined || node === null ? "missing_header" : "bad_encoding", `${describeSource(source)} is not a string`);
  return node.length === 0 ? verifyFailure("missing_header", `${describeSource(source)} is empty`) : node;
}

/** A token goes into the signed string and the replay guard: 1-256 visible ASCII characters. */
function isVisibleAscii(value: string): boolean {
  if (value.length > MAX_TOKEN_LENGTH) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * HMAC over parts of a request, read from headers or from fields of a JSON body: the "HMAC
 * variants" of the providers, as data. Sinch: HMAC-SHA256 over `body.nonce.timestamp`, base64,
 * in headers. Mailgun: HMAC-SHA256 over `timestamp + token`, hex, inside the body (the event
 * data itself is not covered; the single-use token is what stops a replay). A nonce marked
 * `singleUse` is claimed only once the signature is valid, so forged requests cannot fill the
 * guard; the claim is released (`VerifyOk.release`) when the webhook is not stored.
 */
export const hmac: SignatureScheme<HmacParams> = {
  name: "hmac",
  create(params: HmacParams): SignatureVerifier {
    const { algorithm, encoding, signed } = params;
    if (!(algorithm in DIGEST_BYTES)) throw new InvalidSchemeParamsError("hmac", `algorithm ${String(algorithm)} is not one of md5, sha1, sha256, sha512`);
    if (params.timestamp !== undefined && !isValidTolerance(params.timestamp.toleranceSeconds)) {
      throw new InvalidSchemeParamsError("hmac", `toleranceSeconds ${params.timestamp.toleranceSeconds} is not a non-negative integer`);
    }
    if (params.nonce?.singleUse && params.timestamp === undefined) throw new InvalidSchemeParamsError("hmac", "a single-use nonce needs a timestamp to bound how long it is remembered");
    for (const part of signed) {
      if ((part === "timestamp" && params.timestamp === undefined) || (part === "nonce" && params.nonce === undefined)) {
        throw new InvalidSchemeParamsError("hmac", `the signed parts name ${part}, which is not configured`);
      }
    }
    const keys = params.secrets.map((secret, i) => {
      if (secret.length === 0) throw new InvalidSchemeParamsError("hmac", `secret #${i + 1} is empty`);
      return Buffer.from(secret, "utf8");
    });
    const digestBytes = DIGEST_BYTES[algorithm];
    const sources = [params.signature, params.timestamp, params.nonce].filter((s): s is HmacSource => s !== undefined);
    const readsJson = sources.some((s) => "field" in s);
    const guard: ReplayGuard | undefined = params.nonce?.singleUse ? createReplayGuard({ capacity: params.nonce.capacity }) : undefined;

    function decodeSignature(value: string): Buffer | undefined {
      if (encoding === "hex") {
        if (value.length !== digestBytes * 2 || !HEX.test(value)) return undefined;
        return Buffer.from(value, "hex");
      }
      if (!BASE64.test(value) || value.length % 4 !== 0) return undefined;
      const bytes = Buffer.from(value, "base64");
      return bytes.length === digestBytes ? bytes : undefined;
    }

    function verify(request: VerifyRequest, nowMs: number): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no HMAC secret configured");
      let payload: unknown;
      if (readsJson) {
        const parsed = payloadOf(request, "json");
        if (!parsed.ok) return parsed;
        payload = parsed.value;
      }
      const signature = readSource(params.signature, request, payload);
      if (typeof signature !== "string") return signature;
      let timestamp: string | undefined;
      let seconds = 0;
      if (params.timestamp !== undefined) {
        const value = readSource(params.timestamp, request, payload);
        if (typeof value !== "string") return value;
        const parsed = parseTimestampSeconds(value, describeSource(params.timestamp));
        if (typeof parsed !== "number") return parsed;
        timestamp = value;
        seconds = parsed;
      }
      let nonce: string | undefined;
      if (params.nonce !== undefined) {
        const value = readSource(params.nonce, request, payload);
        if (typeof value !== "string") return value;
        if (!isVisibleAscii(value)) return verifyFailure("bad_encoding", `${describeSource(params.nonce)} is not 1-${MAX_TOKEN_LENGTH} visible ASCII characters`);
        nonce = value;
      }
      const given = decodeSignature(signature.trim());
      if (given === undefined) return verifyFailure("bad_encoding", `${describeSource(params.signature)} is not ${encoding} of ${digestBytes} bytes`);
      if (params.timestamp !== undefined) {
        const stale = checkTimestamp(seconds, nowMs, params.timestamp.toleranceSeconds);
        if (stale !== undefined) return stale;
      }
      let matched = false;
      for (let k = 0; k < keys.length && !matched; k++) {
        const mac: Hmac = createHmac(algorithm, keys[k] as Buffer);
        for (let p = 0; p < signed.length; p++) {
          const part = signed[p] as HmacSignedPart;
          if (part === "body") mac.update(request.body);
          else if (part === "timestamp") mac.update(timestamp as string, "latin1");
          else if (part === "nonce") mac.update(nonce as string, "latin1");
          else mac.update(part.literal, "utf8");
        }
        matched = timingSafeEqual(mac.digest(), given);
      }
      if (!matched) return verifyFailure("mismatch", "HMAC does not match any configured secret");
      if (guard === undefined || nonce === undefined) return VERIFIED;
      const token = nonce;
      const expiresAt = (seconds + (params.timestamp as { toleranceSeconds: number }).toleranceSeconds + 1) * 1000;
      if (!guard.claim(token, expiresAt, nowMs)) return verifyFailure("replayed", `${describeSource(params.nonce as HmacSource)} was already used inside its window`);
      return { ok: true, release: () => guard.release(token) };
    }

    return { scheme: "hmac", keyCount: keys.length, ...(readsJson ? { readsPayload: "json" as const } : {}), verify };
  },
};
