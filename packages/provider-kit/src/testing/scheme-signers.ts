import { createHash, createHmac, createSign, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, type KeyObject } from "node:crypto";
import type { FormParams } from "../form.js";
import { basicAuthorization, type BasicCredential } from "../schemes/basic-auth.js";
import type { HmacAlgorithm } from "../schemes/hmac.js";
import { paramsDigestString, type ParamsDigestMethod } from "../schemes/params-digest.js";
import { snsStringToSign, type SnsEnvelope } from "../schemes/sns.js";
import { plivoV3BaseString } from "../schemes/url-nonce-hmac.js";
import { sortedParamsString } from "../schemes/url-params-hmac.js";
import { createSelfSignedCertificate } from "./x509.js";

/**
 * Signing the way each scheme's provider does, for tests, demos and load generators. Each is
 * the mirror of one verifier in `schemes/`.
 */

export { basicAuthorization, type BasicCredential };

/** Encodes parameters as an `application/x-www-form-urlencoded` body (spaces as `+`). */
export function formBody(params: Readonly<Record<string, string | readonly string[]>>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === "string") search.append(name, value);
    else for (const v of value) search.append(name, v);
  }
  return search.toString();
}

/** HMAC of the concatenated `parts` with `secret` (UTF-8), as raw bytes. */
export function hmacOf(algorithm: HmacAlgorithm, secret: string, parts: readonly (string | Uint8Array)[]): Buffer {
  const mac = createHmac(algorithm, Buffer.from(secret, "utf8"));
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Twilio's `X-Twilio-Signature`: HMAC-SHA1 (or SHA-256) of the full URL and the sorted parameters, base64. */
export function signUrlParams(secret: string, url: string, params: FormParams, algorithm: "sha1" | "sha256" = "sha1"): string {
  return createHmac(algorithm, Buffer.from(secret, "utf8")).update(url + sortedParamsString(params), "utf8").digest("base64");
}

/** Plivo's `X-Plivo-Signature-V3` for a POST: HMAC-SHA256 of the V3 string and `.nonce`, base64. */
export function signUrlNonce(secret: string, url: string, params: FormParams, nonce: string): string {
  const base = plivoV3BaseString(url, params);
  if (base === undefined) throw new Error("URL query has a bad %-escape");
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(`${base}.${nonce}`, "utf8").digest("base64");
}

/** Plivo's legacy `X-Plivo-Signature-V2`: HMAC-SHA256 of the URL without its query, then the nonce, base64. Floodgate never accepts it alone. */
export function signPlivoV2(secret: string, url: string, nonce: string): string {
  const q = url.indexOf("?");
  return createHmac("sha256", Buffer.from(secret, "utf8")).update((q === -1 ? url : url.slice(0, q)) + nonce, "utf8").digest("base64");
}

/** Vonage's `sig` parameter over `params` (without `sig`), lower-case hex. */
export function signParamsDigest(secret: string, method: ParamsDigestMethod, params: Readonly<Record<string, string>>): string {
  const signed = paramsDigestString(params);
  if (method === "md5hash") return createHash("md5").update(signed + secret, "utf8").digest("hex");
  return createHmac(method === "md5" ? "md5" : method, Buffer.from(secret, "utf8")).update(signed, "utf8").digest("hex");
}

/** An HS256 JWT over `claims` (`alg: HS256, typ: JWT`). */
export function signJwtHs256(secret: string, claims: Record<string, unknown>): string {
  const head = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
  const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const signature = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${signature}`;
}

/** Vonage signed-webhook claims for `body`: `iat`, a fresh `jti`, and the body's SHA-256 as `payload_hash`. */
export function vonageJwtClaims(body: Uint8Array | string, iatSeconds: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iat: iatSeconds, jti: randomUUID(), iss: "Vonage", payload_hash: createHash("sha256").update(body).digest("hex"), ...extra };
}

/** An ECDSA P-256 key pair: the public half as SendGrid shows it (base64 DER SPKI). */
export interface EcdsaP256TestKey {
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** Creates a P-256 key pair. */
export function generateEcdsaP256TestKey(): EcdsaP256TestKey {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"), privateKey };
}

/** SendGrid's signature: ECDSA P-256/SHA-256 over `<timestamp><body>`, DER, base64. */
export function signEcdsaP256(key: EcdsaP256TestKey, timestampSeconds: number, body: Uint8Array | string): string {
  const data = Buffer.concat([Buffer.from(String(timestampSeconds), "latin1"), typeof body === "string" ? Buffer.from(body, "utf8") : body]);
  return cryptoSign("sha256", data, { key: key.privateKey, dsaEncoding: "der" }).toString("base64");
}

/** An SNS signing certificate made for tests: where it is "served", its PEM and its private key. */
export interface SnsTestCertificate {
  /** `https://sns.<region>.amazonaws.com/SimpleNotificationService-<hex>.pem`. */
  readonly url: string;
  readonly pem: string;
  readonly privateKey: KeyObject;
  readonly region: string;
}

/** Creates a self-signed RSA certificate standing in for AWS's, valid from `notBefore` for ten years. */
export function generateSnsTestCertificate(options: { region?: string; notBefore?: Date } = {}): SnsTestCertificate {
  const region = options.region ?? "us-east-1";
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const notBefore = options.notBefore ?? new Date(Date.UTC(2020, 0, 1));
  const notAfter = new Date(notBefore.getTime() + 10 * 365 * 86_400_000);
  const pem = createSelfSignedCertificate({ publicKey, privateKey, notBefore, notAfter, serial: BigInt(`0x${randomBytes(8).toString("hex")}`) });
  return { url: `https://sns.${region}.amazonaws.com/SimpleNotificationService-${randomBytes(16).toString("hex")}.pem`, pem, privateKey, region };
}

/** An SNS message before signing. */
export type UnsignedSnsEnvelope = Omit<SnsEnvelope, "Signature" | "SigningCertURL" | "SignatureVersion">;

/** Signs an SNS message with a test certificate: `SignatureVersion` 1 (SHA-1) or 2 (SHA-256). */
export function signSnsMessage(certificate: SnsTestCertificate, message: UnsignedSnsEnvelope, version: "1" | "2" = "2"): SnsEnvelope {
  const envelope: SnsEnvelope = { ...message, SignatureVersion: version, Signature: "", SigningCertURL: certificate.url };
  const signer = createSign(version === "1" ? "RSA-SHA1" : "RSA-SHA256");
  signer.update(snsStringToSign(envelope), "utf8");
  envelope.Signature = signer.sign(certificate.privateKey, "base64");
  return envelope;
}

/**
 * A `fetch` serving SNS test certificates by URL (and answering 200 to anything else it is
 * asked, recording each URL), for runtimes built with `createProviderRuntime(…, { fetch })`.
 */
export function createSnsTestFetch(certificates: readonly SnsTestCertificate[]) {
  const calls: string[] = [];
  const byUrl = new Map(certificates.map((c) => [c.url, c.pem]));
  const fetch = async (url: string) => {
    calls.push(url);
    const pem = byUrl.get(url);
    if (pem !== undefined) return { ok: true, status: 200, text: async () => pem };
    if (url.endsWith(".pem")) return { ok: false, status: 404, text: async () => "not found" };
    return { ok: true, status: 200, text: async () => "<ConfirmSubscriptionResponse/>" };
  };
  return { fetch, calls };
}
