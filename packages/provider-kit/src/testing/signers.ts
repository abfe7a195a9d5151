import { createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from "node:crypto";
import { decodeStandardWebhooksSecret } from "../schemes/standard-webhooks.js";
import { timestampPipeBody, type Ed25519PayloadBuilder } from "../schemes/ed25519.js";

/** An Ed25519 key pair for signing test or load traffic. */
export interface Ed25519TestKey {
  /** Raw 32-byte public key, base64: the format a provider portal shows (`TELNYX_PUBLIC_KEY`). */
  readonly publicKey: string;
  /** The private key, imported once. */
  readonly privateKey: KeyObject;
}

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * Creates an Ed25519 key pair: random, or deterministic from a 32-byte `seed` (RFC 8032 keys
 * reproduce published vectors).
 */
export function generateEd25519TestKey(seed?: Uint8Array): Ed25519TestKey {
  let privateKey: KeyObject;
  if (seed === undefined) {
    privateKey = generateKeyPairSync("ed25519").privateKey;
  } else {
    if (seed.length !== 32) throw new RangeError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  }
  const jwk = privateKey.export({ format: "jwk" });
  const publicKey = Buffer.from(jwk.x as string, "base64url").toString("base64");
  return { publicKey, privateKey };
}

/** Header names and payload of an Ed25519 webhook; the defaults are Telnyx's. */
export interface Ed25519SignOptions {
  signatureHeader?: string;
  timestampHeader?: string;
  payload?: Ed25519PayloadBuilder;
}

function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}

/**
 * Signs a body Telnyx-style: Ed25519 over `<timestamp>|<body>`, returning the two headers
 * (`telnyx-signature-ed25519`, `telnyx-timestamp` unless renamed).
 */
export function signEd25519Webhook(
  key: Ed25519TestKey,
  body: Uint8Array | string,
  timestampSeconds: number,
  options: Ed25519SignOptions = {},
): Record<string, string> {
  const timestamp = String(timestampSeconds);
  const payload = (options.payload ?? timestampPipeBody)(timestamp, toBytes(body));
  const signature = cryptoSign(null, payload, key.privateKey).toString("base64");
  return {
    [options.signatureHeader ?? "telnyx-signature-ed25519"]: signature,
    [options.timestampHeader ?? "telnyx-timestamp"]: timestamp,
  };
}

/** Creates a random `whsec_` secret of `bytes` random bytes (Svix uses 24, the spec allows 24-64). */
export function generateStandardWebhooksSecret(bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString("base64")}`;
}

/** A Standard Webhooks signer bound to one secret, decoded once. */
export interface StandardWebhooksSigner {
  readonly secret: string;
  /** The `v1,<base64>` signature of `<id>.<timestamp>.<body>`. */
  signature(body: Uint8Array | string, id: string, timestampSeconds: number): string;
  /** The three headers, `svix-*` unless another prefix was chosen. */
  sign(body: Uint8Array | string, options: { id: string; timestamp: number }): Record<string, string>;
}

/** Binds a Standard Webhooks (Svix) signer to `secret` (`whsec_…`); `headerPrefix` defaults to `svix-`. */
export function createStandardWebhooksSigner(secret: string, headerPrefix = "svix-"): StandardWebhooksSigner {
  const key = decodeStandardWebhooksSecret(secret);
  const idHeader = `${headerPrefix}id`;
  const timestampHeader = `${headerPrefix}timestamp`;
  const signatureHeader = `${headerPrefix}signature`;
  function signature(body: Uint8Array | string, id: string, timestampSeconds: number): string {
    const digest = createHmac("sha256", key).update(`${id}.${timestampSeconds}.`).update(toBytes(body)).digest("base64");
    return `v1,${digest}`;
  }
  return {
    secret,
    signature,
    sign(body, { id, timestamp }) {
      return { [idHeader]: id, [timestampHeader]: String(timestamp), [signatureHeader]: signature(body, id, timestamp) };
    },
  };
}
