import { checkEd25519PublicKey, defineProvider, ed25519, envList, useScheme, withEnvAliases } from "@floodgate/provider-kit";
import { z } from "zod";
import { extractTelnyx } from "./extract.js";

/** Header carrying the base64 Ed25519 signature. */
export const TELNYX_SIGNATURE_HEADER = "telnyx-signature-ed25519";
/** Header carrying the Unix-seconds timestamp. */
export const TELNYX_TIMESTAMP_HEADER = "telnyx-timestamp";
/** Accepted clock skew both ways, seconds (the Telnyx SDK default). */
export const TELNYX_TOLERANCE_SECONDS = 300;

/**
 * Environment read by the Telnyx provider. `TELNYX_WEBHOOK_SECRET` (the design document's name)
 * is accepted as an alias of `TELNYX_PUBLIC_KEY`, with a warning at start.
 */
export const telnyxConfig = withEnvAliases(
  z.object({
    /** Base64 raw 32-byte Ed25519 public key(s) from the Telnyx portal; several separated by commas or whitespace. */
    TELNYX_PUBLIC_KEY: envList(checkEd25519PublicKey),
  }),
  { TELNYX_PUBLIC_KEY: ["TELNYX_WEBHOOK_SECRET"] },
);

export type TelnyxConfig = z.infer<typeof telnyxConfig>;

/** Telnyx messaging webhooks (`message.sent`, `message.finalized`): Ed25519 over `<timestamp>|<body>`. */
export const telnyx = defineProvider<TelnyxConfig>({
  id: "telnyx",
  config: telnyxConfig,
  signature: (config) =>
    useScheme(ed25519, {
      signatureHeader: TELNYX_SIGNATURE_HEADER,
      timestampHeader: TELNYX_TIMESTAMP_HEADER,
      publicKeys: config.TELNYX_PUBLIC_KEY,
      toleranceSeconds: TELNYX_TOLERANCE_SECONDS,
    }),
  extract: extractTelnyx,
});
