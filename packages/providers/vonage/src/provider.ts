import { defineProvider, envChoice, envList, jwtHs256, paramsDigest, PARAMS_DIGEST_METHODS, providerEnv, selectScheme, useScheme } from "@floodgate/provider-kit";
import type { z } from "zod";
import { extractVonage } from "./extract.js";

/** Environment read by the Vonage provider. */
export const vonageConfig = providerEnv({
  /** The account's signature secret(s); several, comma-separated, during a rotation. */
  VONAGE_SIGNATURE_SECRET: envList(),
  /** The dashboard's signature method for SMS delivery receipts: md5hash, md5, sha1, sha256 or sha512. */
  VONAGE_SIGNATURE_METHOD: envChoice(PARAMS_DIGEST_METHODS),
});

export type VonageConfig = z.infer<typeof vonageConfig>;

/**
 * Vonage: SMS API delivery receipts signed with a `sig` parameter (GET query, form or JSON),
 * and Messages API status webhooks signed with an HS256 bearer JWT, at one URL. The request
 * says which: a JWT when it has `Authorization`, the `sig` parameter otherwise.
 */
export const vonage = defineProvider<VonageConfig>({
  id: "vonage",
  body: "params",
  methods: ["POST", "GET"],
  config: vonageConfig,
  signature: (config) =>
    useScheme(selectScheme, {
      options: [
        { applies: (request) => request.headers.authorization !== undefined, scheme: useScheme(jwtHs256, { secrets: config.VONAGE_SIGNATURE_SECRET }) },
        { applies: () => true, scheme: useScheme(paramsDigest, { secrets: config.VONAGE_SIGNATURE_SECRET, method: config.VONAGE_SIGNATURE_METHOD }) },
      ],
    }),
  extract: extractVonage,
});
