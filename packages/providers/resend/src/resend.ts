import { checkStandardWebhooksSecret, defineProvider, envList, standardWebhooks, useScheme } from "@floodgate/provider-kit";
import { z } from "zod";
import { extractResend } from "./extract.js";

/** Environment read by the Resend provider. */
export const resendConfig = z.object({
  /** `whsec_…` signing secret(s) from the Resend dashboard; several separated by spaces or commas. */
  RESEND_WEBHOOK_SECRET: envList(checkStandardWebhooksSecret),
});

export type ResendConfig = z.infer<typeof resendConfig>;

/**
 * Resend email webhooks: Svix / Standard Webhooks HMAC-SHA256, `svix-*` or `webhook-*`
 * headers, 300 s tolerance. The idempotency key is `svix-id`.
 */
export const resend = defineProvider<ResendConfig>({
  id: "resend",
  config: resendConfig,
  signature: (config) => useScheme(standardWebhooks, { secrets: config.RESEND_WEBHOOK_SECRET }),
  extract: extractResend,
});
