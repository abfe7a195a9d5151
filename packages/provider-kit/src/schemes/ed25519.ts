import { createPublicKey, type KeyObject } from "node:crypto";
import { InvalidSchemeParamsError } from "../errors.js";
import { readHeader } from "../headers.js";
import { checkTimestamp, isValidTolerance, parseTimestampSeconds } from "../timestamp.js";
import { VERIFIED, verifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";
import { defaultEd25519Backend, type Ed25519Backend } from "./ed25519-backend.js";

/** Builds the bytes an Ed25519 provider signs from the timestamp header and the raw body. */
export type Ed25519PayloadBuilder = (timestamp: string, body: Uint8Array) => Uint8Array;

/** Parameters of the {@link ed25519} scheme. */
export interface Ed25519Params {
  /** Header carrying the base64 64-byte signature, e.g. `telnyx-signature-ed25519`. */
  signatureHeader: string;
  /** Header carrying the Unix-seconds timestamp, e.g. `telnyx-timestamp`. */
  timestampHeader: string;
  /** Raw 32-byte public keys, base64. Several for rotation; empty means fail closed. */
  publicKeys: readonly string[];
  /** Accepted clock skew, seconds, both ways. */
  toleranceSeconds: number;
  /** What is signed; defaults to {@link timestampPipeBody} (Telnyx). */
  payload?: Ed25519PayloadBuilder;
  /** Ed25519 implementation; defaults to libsodium when available, else node:crypto. */
  backend?: Ed25519Backend;
}

/** `<timestamp>|<raw body>`, the Telnyx signed payload. */
export const timestampPipeBody: Ed25519PayloadBuilder = (timestamp, body) => {
  const tsLength = timestamp.length;
  const out = Buffer.allocUnsafe(tsLength + 1 + body.length);
  out.write(timestamp, 0, "latin1");
  out[tsLength] = 0x7c;
  out.set(body, tsLength + 1);
  return out;
};

/** DER prefix that wraps a raw 32-byte Ed25519 public key into an SPKI structure. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Exactly 64 bytes of standard padded base64. */
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/]{86}==$/;

/**
 * Returns why `value` is not a base64 raw 32-byte Ed25519 public key, or `undefined` if it is.
 * Use it in a provider's config schema so errors name the environment variable.
 */
export function checkEd25519PublicKey(value: string): string | undefined {
  if (!BASE64.test(value) || value.length % 4 !== 0) return "is not standard padded base64";
  const raw = Buffer.from(value, "base64");
  if (raw.length !== 32) return `decodes to ${raw.length} bytes, an Ed25519 public key is 32`;
  return undefined;
}

/** Imports a base64 raw 32-byte Ed25519 public key as a KeyObject (SPKI-wrapped). */
export function importEd25519PublicKey(value: string): KeyObject {
  const problem = checkEd25519PublicKey(value);
  if (problem !== undefined) throw new InvalidSchemeParamsError("ed25519", `public key ${problem}`);
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(value, "base64")]),
    format: "der",
    type: "spki",
  });
}

/**
 * Ed25519 over a payload built from a timestamp header and the raw body (Telnyx). Keys are
 * imported once at `create`; each request costs one payload buffer and one verify per key.
 */
export const ed25519: SignatureScheme<Ed25519Params> = {
  name: "ed25519",
  create(params: Ed25519Params): SignatureVerifier {
    if (!isValidTolerance(params.toleranceSeconds)) {
      throw new InvalidSchemeParamsError("ed25519", `toleranceSeconds ${params.toleranceSeconds} is not a non-negative integer`);
    }
    const backend = params.backend ?? defaultEd25519Backend();
    const keys: unknown[] = params.publicKeys.map((key, i) => {
      try {
        importEd25519PublicKey(key); // validates the encoding and the length
        return backend.importKey(Buffer.from(key, "base64"));
      } catch (cause) {
        throw new InvalidSchemeParamsError("ed25519", `public key #${i + 1} ${checkEd25519PublicKey(key) ?? "cannot be imported"}`, { cause });
      }
    });
    const { signatureHeader, timestampHeader, toleranceSeconds } = params;
    const payload = params.payload ?? timestampPipeBody;

    function verify(request: VerifyRequest, nowMs: number): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no Ed25519 public key configured");
      const signature = readHeader(request.headers, signatureHeader);
      if (typeof signature !== "string") return signature;
      const timestamp = readHeader(request.headers, timestampHeader);
      if (typeof timestamp !== "string") return timestamp;
      const seconds = parseTimestampSeconds(timestamp, timestampHeader);
      if (typeof seconds !== "number") return seconds;
      if (!SIGNATURE_BASE64.test(signature)) {
        return verifyFailure("bad_encoding", `header ${signatureHeader} is not base64 of 64 bytes`);
      }
      const stale = checkTimestamp(seconds, nowMs, toleranceSeconds);
      if (stale !== undefined) return stale;
      const signatureBytes = Buffer.from(signature, "base64");
      const signed = payload(timestamp, request.body);
      for (let i = 0; i < keys.length; i++) {
        if (backend.verify(signatureBytes, signed, keys[i])) return VERIFIED;
      }
      return verifyFailure("mismatch", "Ed25519 signature does not match any configured key");
    }

    return { scheme: "ed25519", keyCount: keys.length, verify };
  },
};
