import { defineProvider, envList, hmac, providerEnv, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractSinch } from "./extract.js";

/** Accepted clock skew both ways, seconds (providers.md §10: Sinch names none). */
export const SINCH_TOLERANCE_SECONDS = 300;

/** Environment read by the Sinch provider. */
export const sinchConfig = providerEnv({
  /** The webhook (callback) secret(s); several, comma-separated, during a rotation. */
  SINCH_WEBHOOK_SECRET: envList(),
});

export type SinchConfig = z.infer<typeof sinchConfig>;

/** Sinch SMS delivery reports: HMAC-SHA256 over `<body>.<nonce>.<timestamp>`, base64, the nonce single-use. */
export const sinch = defineProvider<SinchConfig>({
  id: "sinch",
  config: sinchConfig,
  signature: (config) =>
    useScheme(hmac, {
      secrets: config.SINCH_WEBHOOK_SECRET,
      algorithm: "sha256",
      encoding: "base64",
      signature: { header: "x-sinch-webhook-signature" },
      timestamp: { header: "x-sinch-webhook-signature-timestamp", toleranceSeconds: SINCH_TOLERANCE_SECONDS },
      nonce: { header: "x-sinch-webhook-signature-nonce", singleUse: true },
      signed: ["body", { literal: "." }, "nonce", { literal: "." }, "timestamp"],
    }),
  extract: extractSinch,
});
