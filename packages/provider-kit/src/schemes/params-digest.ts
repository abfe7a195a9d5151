import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { payloadOf } from "../body.js";
import { InvalidSchemeParamsError } from "../errors.js";
import { createReplayGuard, type ReplayGuard } from "../replay-guard.js";
import { checkTimestamp, isValidTolerance, parseTimestampSeconds } from "../timestamp.js";
import { VERIFIED, verifyFailure, type VerifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** Vonage's signature methods: an MD5 hash with the secret appended, or an HMAC. */
export const PARAMS_DIGEST_METHODS = ["md5hash", "md5", "sha1", "sha256", "sha512"] as const;
export type ParamsDigestMethod = (typeof PARAMS_DIGEST_METHODS)[number];

/** Parameters of the {@link paramsDigest} scheme. */
export interface ParamsDigestParams {
  /** Signature secrets, used as UTF-8. Several for rotation. */
  secrets: readonly string[];
  method: ParamsDigestMethod;
  /** The parameter holding the hex signature; default `sig`. */
  signatureParam?: string;
  /** The signed Unix-seconds parameter and its tolerance; default `timestamp`, 300 s. */
  timestampParam?: string;
  toleranceSeconds?: number;
  /** A signed nonce parameter remembered for the window (single use); default `nonce`. Absent nonces are allowed. */
  nonceParam?: string;
}

const DIGEST_BYTES: Record<ParamsDigestMethod, number> = { md5hash: 16, md5: 16, sha1: 20, sha256: 32, sha512: 64 };
const HEX = /^[0-9a-fA-F]+$/;

/**
 * The signed string: every parameter but the signature, names in code-unit order, each as
 * `&name=value` with `&` and `=` inside the value replaced by `_` (vonage-node-sdk).
 */
export function paramsDigestString(params: Readonly<Record<string, string>>, signatureParam = "sig"): string {
  let out = "";
  for (const name of Object.keys(params).sort()) {
    if (name === signatureParam) continue;
    out += `&${name}=${(params[name] as string).replace(/[&=]/g, "_")}`;
  }
  return out;
}

/** Flattens parsed parameters (form, query or flat JSON) to strings; a repeated or nested value is refused. */
function flatten(payload: unknown): { ok: true; value: Record<string, string> } | VerifyFailure {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return verifyFailure("bad_encoding", "parameters are not an object");
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(payload as Record<string, unknown>)) {
    if (typeof value === "string") out[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") out[name] = String(value);
    else if (value === null) out[name] = "";
    else return verifyFailure("bad_encoding", `parameter ${JSON.stringify(name)} is repeated or not a plain value`);
  }
  return { ok: true, value: out };
}

/**
 * A digest over sorted request parameters carried as one of them (Vonage SMS API delivery
 * receipts with a signature secret): `md5hash` is hex(MD5(string + secret)), the others
 * hex(HMAC(secret, string)); compared case-insensitively. The signed `timestamp` parameter is
 * required and checked against the tolerance; a signed `nonce` is single-use in that window.
 */
export const paramsDigest: SignatureScheme<ParamsDigestParams> = {
  name: "params-digest",
  create(params: ParamsDigestParams): SignatureVerifier {
    const { method } = params;
    if (!PARAMS_DIGEST_METHODS.includes(method)) throw new InvalidSchemeParamsError("params-digest", `method ${String(method)} is not one of ${PARAMS_DIGEST_METHODS.join(", ")}`);
    const tolerance = params.toleranceSeconds ?? 300;
    if (!isValidTolerance(tolerance)) throw new InvalidSchemeParamsError("params-digest", `toleranceSeconds ${tolerance} is not a non-negative integer`);
    const signatureParam = params.signatureParam ?? "sig";
    const timestampParam = params.timestampParam ?? "timestamp";
    const nonceParam = params.nonceParam ?? "nonce";
    const keys = params.secrets.map((secret, i) => {
      if (secret.length === 0) throw new InvalidSchemeParamsError("params-digest", `secret #${i + 1} is empty`);
      return Buffer.from(secret, "utf8");
    });
    const digestBytes = DIGEST_BYTES[method];
    const guard: ReplayGuard = createReplayGuard();

    function digest(key: Buffer, signed: string): Buffer {
      if (method === "md5hash") return createHash("md5").update(signed, "utf8").update(key).digest();
      return createHmac(method === "md5" ? "md5" : method, key).update(signed, "utf8").digest();
    }

    function verify(request: VerifyRequest, nowMs: number): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no signature secret configured");
      const payload = payloadOf(request, "params");
      if (!payload.ok) return payload;
      const values = flatten(payload.value);
      if (!values.ok) return values;
      const flat = values.value;
      const sig = flat[signatureParam];
      if (sig === undefined || sig === "") return verifyFailure("missing_header", `parameter ${signatureParam} is missing`);
      const timestamp = flat[timestampParam];
      if (timestamp === undefined || timestamp === "") return verifyFailure("missing_header", `parameter ${timestampParam} is missing`);
      const seconds = parseTimestampSeconds(timestamp, `parameter ${timestampParam}`);
      if (typeof seconds !== "number") return seconds;
      if (sig.length !== digestBytes * 2 || !HEX.test(sig)) return verifyFailure("bad_encoding", `parameter ${signatureParam} is not hex of ${digestBytes} bytes`);
      const stale = checkTimestamp(seconds, nowMs, tolerance);
      if (stale !== undefined) return stale;
      const given = Buffer.from(sig, "hex");
      const signed = paramsDigestString(flat, signatureParam);
      let matched = false;
      for (let k = 0; k < keys.length && !matched; k++) matched = timingSafeEqual(digest(keys[k] as Buffer, signed), given);
      if (!matched) return verifyFailure("mismatch", "signature does not match the parameters with any configured secret");
      const nonce = flat[nonceParam];
      if (nonce === undefined || nonce === "") return VERIFIED;
      const token = `${timestamp}:${nonce}`;
      if (!guard.claim(token, (seconds + tolerance + 1) * 1000, nowMs)) return verifyFailure("replayed", `parameter ${nonceParam} was already used inside its window`);
      return { ok: true, release: () => guard.release(token) };
    }

    return { scheme: "params-digest", keyCount: keys.length, readsPayload: "params", verify };
  },
};
