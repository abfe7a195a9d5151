import { z } from "zod";
import { envList, providerEnv } from "../config.js";
import { InvalidSchemeParamsError } from "../errors.js";
import { readHeader } from "../headers.js";
import { digestSecret, equalDigests } from "../secret-compare.js";
import { VERIFIED, verifyFailure, type VerifyRequest, type VerifyResult } from "../verification.js";
import type { SignatureScheme, SignatureVerifier } from "./scheme.js";

/** One username/password pair a provider is configured to send. */
export interface BasicCredential {
  readonly username: string;
  readonly password: string;
}

/** Parameters of the {@link basicAuth} scheme. */
export interface BasicAuthParams {
  /** Accepted pairs; several during a rotation. Empty means every request is refused. */
  credentials: readonly BasicCredential[];
  /** Header carrying the credentials; default `authorization`. */
  header?: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Longest `Authorization` value read: far beyond any real pair, short enough to bound the work. */
const MAX_HEADER_LENGTH = 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Returns why `value` cannot be a Basic username, or `undefined` if it can: RFC 7617 forbids
 * a colon in it, and control characters would not survive an HTTP client.
 */
export function checkBasicUsername(value: string): string | undefined {
  if (value.includes(":")) return "must not contain a colon";
  return checkBasicPassword(value);
}

/** Returns why `value` cannot be a Basic password, or `undefined` if it can (no control characters, at most 256 characters). */
export function checkBasicPassword(value: string): string | undefined {
  if (value.length > 256) return "is longer than 256 characters";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return "contains a control character";
  return undefined;
}

/**
 * Pairs usernames and passwords by position (`USER=a,b` and `PASSWORD=x,y` mean `a:x` and
 * `b:y`), for rotation. Returns why they cannot be paired, or the pairs.
 */
export function pairBasicCredentials(usernames: readonly string[], passwords: readonly string[]): BasicCredential[] | string {
  if (usernames.length !== passwords.length) {
    return `${usernames.length} username(s) but ${passwords.length} password(s): they are paired by position`;
  }
  return usernames.map((username, i) => ({ username, password: passwords[i] as string }));
}

/** The `Authorization` value an HTTP client sends for a pair: `Basic base64(user:password)`. */
export function basicAuthorization(credential: BasicCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`, "utf8").toString("base64")}`;
}

/**
 * HTTP Basic credentials (Postmark, Bandwidth): no signature, a shared username and password
 * in `Authorization`. Usernames and passwords are compared as SHA-256 digests in constant time,
 * every configured pair every time, so neither the lengths nor which pair came closest leak.
 * The body is not covered: only TLS protects it in transit.
 */
export const basicAuth: SignatureScheme<BasicAuthParams> = {
  name: "basic-auth",
  create(params: BasicAuthParams): SignatureVerifier {
    const pairs = params.credentials.map((c, i) => {
      const problem = checkBasicUsername(c.username) ?? checkBasicPassword(c.password);
      if (problem !== undefined) throw new InvalidSchemeParamsError("basic-auth", `credential #${i + 1} ${problem}`);
      return { username: digestSecret(c.username), password: digestSecret(c.password) };
    });
    const header = params.header ?? "authorization";

    function verify(request: VerifyRequest): VerifyResult {
      if (pairs.length === 0) return verifyFailure("no_secret", "no Basic credentials configured");
      const value = readHeader(request.headers, header);
      if (typeof value !== "string") return value;
      if (value.length > MAX_HEADER_LENGTH) return verifyFailure("bad_encoding", `header ${header} is longer than ${MAX_HEADER_LENGTH} characters`);
      const space = value.indexOf(" ");
      if (space === -1 || value.slice(0, space).toLowerCase() !== "basic") return verifyFailure("bad_encoding", `header ${header} is not Basic credentials`);
      const encoded = value.slice(space + 1).trim();
      if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return verifyFailure("bad_encoding", `header ${header} is not base64`);
      let decoded: string;
      try {
        decoded = utf8.decode(Buffer.from(encoded, "base64"));
      } catch {
        return verifyFailure("bad_encoding", `header ${header} is not UTF-8`);
      }
      const colon = decoded.indexOf(":");
      if (colon === -1) return verifyFailure("bad_encoding", `header ${header} has no user:password pair`);
      const username = digestSecret(decoded.slice(0, colon));
      const password = digestSecret(decoded.slice(colon + 1));
      let matched = 0;
      for (let i = 0; i < pairs.length; i++) {
        const pair = pairs[i] as (typeof pairs)[number];
        // Both comparisons run for every pair, whatever the first one says.
        const user = equalDigests(pair.username, username) ? 1 : 0;
        const pass = equalDigests(pair.password, password) ? 1 : 0;
        matched |= user & pass;
      }
      return matched === 1 ? VERIFIED : verifyFailure("mismatch", "Basic credentials do not match any configured pair");
    }

    return { scheme: "basic-auth", keyCount: pairs.length, verify };
  },
};

/**
 * The configuration of a provider that sends Basic credentials: two variables of paired,
 * comma-separated lists (`<P>_USERNAME=a,b`, `<P>_PASSWORD=x,y` during a rotation), parsed to
 * `{ credentials }`. Usernames and passwords cannot contain commas or whitespace (the list
 * separators); a count mismatch names both variables.
 */
export function basicCredentialsEnv(usernameVariable: string, passwordVariable: string) {
  const shape = { [usernameVariable]: envList(checkBasicUsername), [passwordVariable]: envList(checkBasicPassword) } as Record<string, ReturnType<typeof envList>>;
  return providerEnv(shape).transform((config, ctx): { credentials: BasicCredential[] } => {
    const pairs = pairBasicCredentials(config[usernameVariable] as string[], config[passwordVariable] as string[]);
    if (typeof pairs === "string") {
      for (const path of [usernameVariable, passwordVariable]) ctx.addIssue({ code: "custom", path: [path], message: pairs });
      return z.NEVER;
    }
    return { credentials: pairs };
  });
}
