import { randomUUID } from "node:crypto";
import { planTraffic } from "./traffic.js";
import { PROVIDER_PROFILES, signedRequest, type ExtraProvider, type ProviderName, type WebhookSigner } from "./webhooks.js";

/** Pre-signed requests for k6, which cannot sign Ed25519, ECDSA or RSA itself (see k6/README.md). */
export interface Corpus {
  format: "floodgate-k6-corpus";
  version: 1;
  createdAt: string;
  /** Signatures carry the creation time; the shortest window (Telnyx's) is 300 s. */
  validUntil: string;
  requests: { provider: ProviderName; path: string; headers: Record<string, string>; body: string }[];
}

/** Providers whose signatures k6 cannot make: the corpus holds theirs. */
export const CORPUS_PROVIDERS = ["telnyx", "sendgrid", "ses"] as const satisfies readonly ProviderName[];

/**
 * Signs `count` real-shaped webhooks per provider now: Telnyx sent/finalized lifecycles (some
 * multi-recipient); for the others, delivered callbacks of distinct messages.
 */
export function buildCorpus(count: number, signer: WebhookSigner, now = Date.now(), providers: readonly ProviderName[] = ["telnyx"]): Corpus {
  const seconds = Math.floor(now / 1000);
  const requests: Corpus["requests"] = [];
  for (const provider of providers) {
    if (provider === "telnyx") {
      const plan = planTraffic({ messages: Math.ceil(count / 2), telnyxShare: 1, multiRecipientShare: 0.05, duplicateShare: 0, reorderShare: 0.1, openShare: 0 });
      for (const w of plan.webhooks.slice(0, count)) requests.push({ provider: "telnyx", path: "/webhooks/telnyx", headers: signer.telnyx(w.body, seconds), body: w.body });
    } else if (provider === "resend") {
      throw new Error("resend is signed by the k6 script itself");
    } else {
      const profile = PROVIDER_PROFILES[provider as ExtraProvider];
      for (let i = 0; i < count; i++) {
        const built = profile.build({ messageId: randomUUID(), to: profile.channel === "sms" ? `+1555${String(i).padStart(7, "0")}` : `k6-${i}@example.com`, status: profile.steps.delivered as string });
        const r = signedRequest(signer, provider, built.body, { timestampSeconds: seconds });
        requests.push({ provider, path: r.path, headers: r.headers, body: r.body });
      }
    }
  }
  return {
    format: "floodgate-k6-corpus",
    version: 1,
    createdAt: new Date(seconds * 1000).toISOString(),
    validUntil: new Date((seconds + 300) * 1000).toISOString(),
    requests,
  };
}
