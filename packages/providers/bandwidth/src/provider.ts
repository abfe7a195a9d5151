import { basicAuth, basicCredentialsEnv, defineProvider, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractBandwidth } from "./extract.js";

/** Environment read by the Bandwidth provider: callback credentials, paired by position for rotation. */
export const bandwidthConfig = basicCredentialsEnv("BANDWIDTH_WEBHOOK_USERNAME", "BANDWIDTH_WEBHOOK_PASSWORD");

export type BandwidthConfig = z.infer<typeof bandwidthConfig>;

/** Bandwidth Messaging v2 callbacks: HTTP Basic credentials, a JSON array of events per POST. */
export const bandwidth = defineProvider<BandwidthConfig>({
  id: "bandwidth",
  config: bandwidthConfig,
  signature: (config) => useScheme(basicAuth, { credentials: config.credentials }),
  extract: extractBandwidth,
});
