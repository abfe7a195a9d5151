import { defineProvider, envList, providerEnv, publicUrlVar, urlNonceHmac, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractPlivo } from "./extract.js";

/** Environment read by the Plivo provider. */
export const plivoConfig = providerEnv(
  /** The account Auth Token(s); several, comma-separated, during a rotation. */
  { PLIVO_AUTH_TOKEN: envList() },
  /** The base URL Plivo was given; the signature covers it. */
  { PUBLIC_URL: publicUrlVar() },
);

export type PlivoConfig = z.infer<typeof plivoConfig>;

/** Plivo message status callbacks: signature V3, HMAC-SHA256 over the public URL, the sorted form parameters and a nonce. */
export const plivo = defineProvider<PlivoConfig>({
  id: "plivo",
  body: "form",
  config: plivoConfig,
  signature: (config) =>
    useScheme(urlNonceHmac, {
      secrets: config.PLIVO_AUTH_TOKEN,
      publicUrl: config.PUBLIC_URL,
      signatureHeader: "x-plivo-signature-v3",
      nonceHeader: "x-plivo-signature-v3-nonce",
    }),
  extract: extractPlivo,
});
