import { checkSnsTopicArn, defineProvider, envList, providerEnv, snsHandshake, snsSignature, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractSes } from "./extract.js";

/** Environment read by the SES provider. */
export const sesConfig = providerEnv({
  /** The SNS topic ARN(s) SES publishes to; messages from any other topic are refused (403). */
  SES_SNS_TOPIC_ARNS: envList(checkSnsTopicArn),
});

export type SesConfig = z.infer<typeof sesConfig>;

/**
 * Amazon SES events delivered by Amazon SNS over HTTPS: the SNS message is RSA-signed with a
 * certificate fetched from an allow-listed AWS URL; subscriptions to allowed topics are
 * confirmed; the SES event inside `Message` becomes one event per recipient.
 */
export const ses = defineProvider<SesConfig>({
  id: "ses",
  contentTypes: ["text/plain", "application/json"],
  config: sesConfig,
  signature: (config) => useScheme(snsSignature, { topicArns: config.SES_SNS_TOPIC_ARNS }),
  handshake: snsHandshake,
  extract: extractSes,
});
