import { basicAuth, basicCredentialsEnv, defineProvider, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractPostmark } from "./extract.js";

/** Environment read by the Postmark provider: the webhook's Basic credentials, paired by position for rotation. */
export const postmarkConfig = basicCredentialsEnv("POSTMARK_WEBHOOK_USERNAME", "POSTMARK_WEBHOOK_PASSWORD");

export type PostmarkConfig = z.infer<typeof postmarkConfig>;

/** Postmark outbound webhooks: no signature, HTTP Basic credentials; Postmark wants 200. */
export const postmark = defineProvider<PostmarkConfig>({
  id: "postmark",
  config: postmarkConfig,
  successStatus: 200,
  signature: (config) => useScheme(basicAuth, { credentials: config.credentials }),
  extract: extractPostmark,
});
