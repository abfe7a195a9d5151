/**
 * The traffic mixes the bench sections send: the sustained run's (Telnyx and Resend, group MMS,
 * provider retries, reordering) and the queued-storage one (the same without retries or
 * reordering, so every webhook is a distinct record).
 */
import { runOpenLoad, type OpenLoadResult } from "../open-load.js";
import { planTraffic } from "../traffic.js";
import type { WebhookSigner } from "../webhooks.js";

/** The sustained and capacity runs' mix (runLoad's shares). */
export const SUSTAINED_MIX = { telnyxShare: 0.5, multiRecipientShare: 0.05, duplicateShare: 0.05, reorderShare: 0.1, openShare: 0.3 } as const;

/** Distinct mixed webhooks, for what the stream stores per webhook. */
export const QUEUED_MIX = { telnyxShare: 0.5, multiRecipientShare: 0.05, duplicateShare: 0, reorderShare: 0, openShare: 0.3 } as const;

/** Sends about `seconds` of {@link QUEUED_MIX} webhooks at `rate`/s to `target` (open model). */
export async function sendQueuedMix(target: string, signer: WebhookSigner, rate: number, seconds: number): Promise<OpenLoadResult> {
  const plan = planTraffic({ messages: Math.ceil((rate * seconds) / 2.25), ...QUEUED_MIX });
  return runOpenLoad({
    target,
    rate,
    total: plan.webhooks.length,
    makeRequest: (i) => {
      const w = plan.webhooks[i]!;
      return { path: `/webhooks/${w.provider}`, headers: w.provider === "telnyx" ? signer.telnyx(w.body) : signer.resend(w.body, w.deliveryId), body: Buffer.from(w.body) };
    },
  });
}
