import { checkEcdsaP256PublicKey, defineProvider, ecdsaP256, envList, providerEnv, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractSendgrid } from "./extract.js";

/**
 * Accepted clock skew, seconds: 25 h. SendGrid retries for 24 h and does not say whether a
 * retry is re-signed, so a short window could refuse its retries; replays inside the window
 * are absorbed by the ledger's dedup on `sg_event_id` (providers.md §4).
 */
export const SENDGRID_TOLERANCE_SECONDS = 25 * 60 * 60;

/** Environment read by the SendGrid provider. */
export const sendgridConfig = providerEnv({
  /** The signed Event Webhook's verification key(s), base64 DER; one per webhook configuration. */
  SENDGRID_WEBHOOK_PUBLIC_KEY: envList(checkEcdsaP256PublicKey),
});

export type SendgridConfig = z.infer<typeof sendgridConfig>;

/** SendGrid's signed Event Webhook: ECDSA P-256 over `<timestamp><body>`, a JSON array of events per POST. */
export const sendgrid = defineProvider<SendgridConfig>({
  id: "sendgrid",
  config: sendgridConfig,
  signature: (config) =>
    useScheme(ecdsaP256, {
      signatureHeader: "x-twilio-email-event-webhook-signature",
      timestampHeader: "x-twilio-email-event-webhook-timestamp",
      publicKeys: config.SENDGRID_WEBHOOK_PUBLIC_KEY,
      toleranceSeconds: SENDGRID_TOLERANCE_SECONDS,
    }),
  extract: extractSendgrid,
});
