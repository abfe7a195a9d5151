import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { createRequire } from "node:module";

/** Verifies Ed25519 signatures against raw 32-byte public keys. */
export interface Ed25519Backend {
  readonly name: "libsodium" | "node:crypto";
  /** Prepares a raw 32-byte key once; the result is what `verify` takes. */
  importKey(raw: Uint8Array): unknown;
  verify(signature: Uint8Array, message: Uint8Array, key: unknown): boolean;
}

interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** OpenSSL through node:crypto: always available. */
export const nodeCryptoBackend: Ed25519Backend = {
  name: "node:crypto",
  importKey: (raw) => createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" }),
  verify: (signature, message, key) => cryptoVerify(null, message, key as ReturnType<typeof createPublicKey>, signature),
};

function loadSodium(): Sodium | undefined {
  try {
    return createRequire(import.meta.url)("sodium-native") as Sodium;
  } catch {
    return undefined;
  }
}

/** libsodium through sodium-native (prebuilt binaries, an optional dependency). */
export function sodiumBackend(): Ed25519Backend | undefined {
  const sodium = loadSodium();
  if (!sodium) return undefined;
  return {
    name: "libsodium",
    importKey: (raw) => Buffer.from(raw),
    // libsodium also rejects non-canonical signatures and small-order keys: stricter, never looser.
    verify: (signature, message, key) => sodium.crypto_sign_verify_detached(signature, message, key as Uint8Array),
  };
}

let chosen: Ed25519Backend | undefined;

/**
 * The Ed25519 implementation to use: libsodium when sodium-native loads (it verifies about 1.7×
 * faster than node:crypto here, see the README's performance section), node:crypto otherwise or
 * when `FLOODGATE_ED25519=node`.
 */
export function defaultEd25519Backend(): Ed25519Backend {
  if (chosen) return chosen;
  chosen = (process.env.FLOODGATE_ED25519 !== "node" && sodiumBackend()) || nodeCryptoBackend;
  return chosen;
}
