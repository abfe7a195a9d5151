import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { InvalidSchemeParamsError } from "../errors.js";
import { readHeader } from "../headers.js";
import { createReplayGuard, type ReplayGuard } from "../replay-guard.js";
import { isValidTolerance } from "../timestamp.js";
import { VERIFIED, verifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** Parameters of the {@link jwtHs256} scheme. */
export interface JwtHs256Params {
  /** HMAC secrets, used as UTF-8. Several for rotation. */
  secrets: readonly string[];
  /** Header carrying `Bearer <jwt>`; default `authorization`. */
  header?: string;
  /** How far `iat` may be from the clock, both ways, seconds; default 300. */
  toleranceSeconds?: number;
  /**
   * Require a `payload_hash` claim equal to the hex SHA-256 of the raw body, so the token
   * covers the body (Vonage signed webhooks). Default true: without it any captured token
   * could carry any body for its lifetime.
   */
  requirePayloadHash?: boolean;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 8192;
const SHA256_BYTES = 32;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(segment, "base64url")));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A bearer JWT signed with HS256 (Vonage Messages API status webhooks). Only `alg: HS256` is
 * accepted (never `none`, never a key-type switch); `iat` is required and held to the
 * tolerance; `exp` and `nbf` are honoured when present; `payload_hash` must match the body; a
 * `jti` is single-use for the tolerance window.
 */
export const jwtHs256: SignatureScheme<JwtHs256Params> = {
  name: "jwt-hs256",
  create(params: JwtHs256Params): SignatureVerifier {
    const tolerance = params.toleranceSeconds ?? 300;
    if (!isValidTolerance(tolerance)) throw new InvalidSchemeParamsError("jwt-hs256", `toleranceSeconds ${tolerance} is not a non-negative integer`);
    const keys = params.secrets.map((secret, i) => {
      if (secret.length === 0) throw new InvalidSchemeParamsError("jwt-hs256", `secret #${i + 1} is empty`);
      return Buffer.from(secret, "utf8");
    });
    const header = params.header ?? "authorization";
    const requirePayloadHash = params.requirePayloadHash ?? true;
    const guard: ReplayGuard = createReplayGuard();

    function verify(request: VerifyRequest, nowMs: number): VerifyResult {
      if (keys.length === 0) return verifyFailure("no_secret", "no JWT secret configured");
      const value = readHeader(request.headers, header);
      if (typeof value !== "string") return value;
      if (value.length > MAX_TOKEN_LENGTH) return verifyFailure("bad_encoding", `header ${header} is longer than ${MAX_TOKEN_LENGTH} characters`);
      if (value.slice(0, 7).toLowerCase() !== "bearer ") return verifyFailure("bad_encoding", `header ${header} is not a Bearer token`);
      const parts = value.slice(7).trim().split(".");
      if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) return verifyFailure("bad_encoding", "the bearer token is not a JWS compact serialization");
      const [head, body, signature] = parts as [string, string, string];
      const joseHeader = decodeJson(head);
      if (joseHeader === undefined) return verifyFailure("bad_encoding", "the JWT header is not a JSON object");
      if (joseHeader.alg !== "HS256") return verifyFailure("mismatch", `the JWT algorithm ${JSON.stringify(joseHeader.alg)} is not HS256`);
      const given = Buffer.from(signature, "base64url");
      if (given.length !== SHA256_BYTES) return verifyFailure("bad_encoding", "the JWT signature is not 32 bytes");
      let matched = false;
      for (let k = 0; k < keys.length && !matched; k++) {
        matched = timingSafeEqual(createHmac("sha256", keys[k] as Buffer).update(head, "latin1").update(".").update(body, "latin1").digest(), given);
      }
      if (!matched) return verifyFailure("mismatch", "the JWT signature does not match any configured secret");

      const claims = decodeJson(body);
      if (claims === undefined) return verifyFailure("bad_encoding", "the JWT claims are not a JSON object");
      const nowSeconds = Math.floor(nowMs / 1000);
      const iat = claims.iat;
      if (typeof iat !== "number" || !Number.isFinite(iat)) return verifyFailure("missing_header", "the JWT has no numeric iat claim");
      if (nowSeconds - iat > tolerance) return verifyFailure("timestamp_too_old", `the JWT was issued ${nowSeconds - iat} s ago, tolerance ${tolerance} s`);
      if (iat - nowSeconds > tolerance) return verifyFailure("timestamp_too_new", `the JWT is issued ${iat - nowSeconds} s ahead, tolerance ${tolerance} s`);
      if (typeof claims.exp === "number" && nowSeconds - claims.exp > tolerance) return verifyFailure("timestamp_too_old", "the JWT has expired");
      if (typeof claims.nbf === "number" && claims.nbf - nowSeconds > tolerance) return verifyFailure("timestamp_too_new", "the JWT is not valid yet");
      if (requirePayloadHash || claims.payload_hash !== undefined) {
        const hash = claims.payload_hash;
        if (typeof hash !== "string") return verifyFailure("missing_header", "the JWT has no payload_hash claim");
        const actual = createHash("sha256").update(request.body).digest("hex");
        if (hash.length !== actual.length || !timingSafeEqual(Buffer.from(hash.toLowerCase(), "latin1"), Buffer.from(actual, "latin1"))) {
          return verifyFailure("mismatch", "the body does not match the JWT's payload_hash");
        }
      }
      const jti = claims.jti;
      if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) return VERIFIED;
      if (!guard.claim(jti, (iat + tolerance + 1) * 1000, nowMs)) return verifyFailure("replayed", "the JWT's jti was already used inside its window");
      return { ok: true, release: () => guard.release(jti) };
    }

    return { scheme: "jwt-hs256", keyCount: keys.length, verify };
  },
};
