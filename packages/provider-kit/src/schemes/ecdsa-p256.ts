import { createPublicKey, createVerify, type KeyObject } from "node:crypto";
import { InvalidSchemeParamsError } from "../errors.js";
import { readHeader } from "../headers.js";
import { checkTimestamp, isValidTolerance, parseTimestampSeconds } from "../timestamp.js";
import { VERIFIED, verifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** Parameters of the {@link ecdsaP256} scheme. */
export interface EcdsaP256Params {
  /** Header carrying the base64 DER (ASN.1) signature. */
  signatureHeader: string;
  /** Header carrying the Unix-seconds timestamp, signed in front of the body. */
  timestampHeader: string;
  /** Base64 DER SubjectPublicKeyInfo keys (SendGrid's "verification key"). Several for rotation. */
  publicKeys: readonly string[];
  /** Accepted clock skew both ways, seconds. */
  toleranceSeconds: number;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** A DER ECDSA P-256 signature is 8 to 72 bytes. */
const MAX_SIGNATURE_BYTES = 72;

/**
 * Returns why `value` is not a base64 DER SPKI P-256 public key, or `undefined` if it is.
 * Use it in a provider's config schema so errors name the environment variable.
 */
export function checkEcdsaP256PublicKey(value: string): string | undefined {
  if (!BASE64.test(value) || value.length % 4 !== 0) return "is not standard padded base64";
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(value, "base64"), format: "der", type: "spki" });
  } catch {
    return "is not a DER SubjectPublicKeyInfo public key";
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") return "is not an ECDSA P-256 key";
  return undefined;
}

/** Imports a base64 DER SPKI P-256 public key. */
export function importEcdsaP256PublicKey(value: string): KeyObject {
  const problem = checkEcdsaP256PublicKey(value);
  if (problem !== undefined) throw new InvalidSchemeParamsError("ecdsa-p256", `public key ${problem}`);
  return createPublicKey({ key: Buffer.from(value, "base64"), format: "der", type: "spki" });
}

/**
 * ECDSA P-256 with SHA-256 over `<timestamp><raw body>` (no separator), DER signature, base64
 * (SendGrid's signed Event Webhook). Keys are imported once; the timestamp and the body are fed
 * to the verifier without concatenating them.
 */
export const ecdsaP256: SignatureScheme<EcdsaP256Params> = {
  name: "ecdsa-p256",
  create(params: EcdsaP256Params): SignatureVerifier {
    if (!isValidTolerance(params.toleranceSeconds)) throw new InvalidSchemeParamsError("ecdsa-p256", `toleranceSeconds ${params.toleranceSeconds} is not a non-negative integer`);
    const keys = params.publicKeys.map((key, i) => {
      try {
        return importEcdsaP256PublicKey(key);
      } catch (cause) {
        throw new InvalidSchemeParamsError("ecdsa-p256", `public key #${i + 1} ${checkEcdsaP256PublicKey(key) ?? "cannot be imported"}`, { cause });
      }
    });
    const { signatureHeader, timestampHeader, toleranceSeconds } = params;

    function verify(request: VerifyRequest, nowMs: number): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no ECDSA public key configured");
      const signature = readHeader(request.headers, signatureHeader);
      if (typeof signature !== "string") return signature;
      const timestamp = readHeader(request.headers, timestampHeader);
      if (typeof timestamp !== "string") return timestamp;
      const seconds = parseTimestampSeconds(timestamp, timestampHeader);
      if (typeof seconds !== "number") return seconds;
      if (!BASE64.test(signature) || signature.length % 4 !== 0) return verifyFailure("bad_encoding", `header ${signatureHeader} is not base64`);
      const signatureBytes = Buffer.from(signature, "base64");
      if (signatureBytes.length < 8 || signatureBytes.length > MAX_SIGNATURE_BYTES) return verifyFailure("bad_encoding", `header ${signatureHeader} is not a DER P-256 signature`);
      const stale = checkTimestamp(seconds, nowMs, toleranceSeconds);
      if (stale !== undefined) return stale;
      for (let i = 0; i < keys.length; i++) {
        const verifier = createVerify("sha256").update(timestamp, "latin1").update(request.body);
        if (verifier.verify({ key: keys[i] as KeyObject, dsaEncoding: "der" }, signatureBytes)) return VERIFIED;
      }
      return verifyFailure("mismatch", "ECDSA signature does not match any configured key");
    }

    return { scheme: "ecdsa-p256", keyCount: keys.length, verify };
  },
};
