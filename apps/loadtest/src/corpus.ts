import { planTraffic } from "./traffic.js";
import type { WebhookSigner } from "./webhooks.js";

/** Pre-signed requests for k6, which cannot sign Ed25519 itself (see k6/README.md). */
export interface Corpus {
  format: "floodgate-k6-corpus";
  version: 1;
  createdAt: string;
  /** Signatures carry the creation time; Telnyx accepts them for 300 s. */
  validUntil: string;
  requests: { provider: "telnyx"; path: string; headers: Record<string, string>; body: string }[];
}

/** Signs `count` real-shaped Telnyx webhooks (sent/finalized lifecycles, some multi-recipient) now. */
export function buildCorpus(count: number, signer: Pick<WebhookSigner, "telnyx">, now = Date.now()): Corpus {
  const plan = planTraffic({ messages: Math.ceil(count / 2), telnyxShare: 1, multiRecipientShare: 0.05, duplicateShare: 0, reorderShare: 0.1, openShare: 0 });
  const seconds = Math.floor(now / 1000);
  return {
    format: "floodgate-k6-corpus",
    version: 1,
    createdAt: new Date(seconds * 1000).toISOString(),
    validUntil: new Date((seconds + 300) * 1000).toISOString(),
    requests: plan.webhooks.slice(0, count).map((w) => ({ provider: "telnyx", path: "/webhooks/telnyx", headers: signer.telnyx(w.body, seconds), body: w.body })),
  };
}
