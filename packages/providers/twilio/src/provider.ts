import { defineProvider, envList, providerEnv, publicUrlVar, urlParamsHmac, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractTwilio } from "./extract.js";

/** Environment read by the Twilio provider. */
export const twilioConfig = providerEnv(
  /** The account Auth Token(s); several, comma-separated, during a rotation. */
  { TWILIO_AUTH_TOKEN: envList() },
  /** The base URL Twilio was given; the signature covers it (see provider-kit `public-url.ts`). */
  { PUBLIC_URL: publicUrlVar() },
);

export type TwilioConfig = z.infer<typeof twilioConfig>;

/** Twilio Programmable Messaging status callbacks: HMAC-SHA1 over the public URL and the sorted form parameters. */
export const twilio = defineProvider<TwilioConfig>({
  id: "twilio",
  body: "form",
  config: twilioConfig,
  signature: (config) => useScheme(urlParamsHmac, { secrets: config.TWILIO_AUTH_TOKEN, publicUrl: config.PUBLIC_URL, signatureHeader: "x-twilio-signature" }),
  extract: extractTwilio,
});
