import { defineProvider, envList, hmac, providerEnv, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractMailgun } from "./extract.js";

/**
 * Accepted clock skew, seconds: 9 h. Mailgun retries for about 8 h and does not say whether a
 * retry is re-signed, so the single-use token is the main defence (providers.md §6).
 */
export const MAILGUN_TOLERANCE_SECONDS = 9 * 60 * 60;

/** Environment read by the Mailgun provider. */
export const mailgunConfig = providerEnv({
  /** The HTTP webhook signing key(s) from the dashboard; several, comma-separated, during a rotation. */
  MAILGUN_WEBHOOK_SIGNING_KEY: envList(),
});

export type MailgunConfig = z.infer<typeof mailgunConfig>;

/**
 * Mailgun webhooks: HMAC-SHA256 (hex) over `timestamp + token`, carried inside the JSON body;
 * each token single-use; Mailgun wants 200.
 */
export const mailgun = defineProvider<MailgunConfig>({
  id: "mailgun",
  config: mailgunConfig,
  successStatus: 200,
  signature: (config) =>
    useScheme(hmac, {
      secrets: config.MAILGUN_WEBHOOK_SIGNING_KEY,
      algorithm: "sha256",
      encoding: "hex",
      signature: { field: ["signature", "signature"] },
      timestamp: { field: ["signature", "timestamp"], toleranceSeconds: MAILGUN_TOLERANCE_SECONDS },
      nonce: { field: ["signature", "token"], singleUse: true },
      signed: ["timestamp", "nonce"],
    }),
  extract: extractMailgun,
});
