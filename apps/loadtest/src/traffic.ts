import { randomUUID } from "node:crypto";
import { PROVIDER_PROFILES, resendBody, telnyxBody, type ExtraProvider, type ProviderName, type ResendType, type TelnyxStatus } from "./webhooks.js";

/** The shape of the traffic a run sends. */
export interface TrafficOptions {
  /** Messages (recipient rows) to create; each gets its lifecycle of webhooks. */
  messages: number;
  /** Share of messages sent by Telnyx (SMS); the rest by Resend (e-mail). Ignored when `providers` is given. */
  telnyxShare: number;
  /** Providers to spread the messages over evenly (any mix, e.g. `["twilio", "bandwidth"]`); default Telnyx and Resend by `telnyxShare`. */
  providers?: readonly ProviderName[];
  /** Share of Telnyx messages with several `to[]` recipients in one webhook (group MMS). */
  multiRecipientShare: number;
  /** Share of webhooks sent a second time, as a provider retry (same delivery id). */
  duplicateShare: number;
  /** Share of messages whose events are sent in reverse order (finalized before sent). */
  reorderShare: number;
  /** Share of Resend messages that are also opened. */
  openShare: number;
  /** Deterministic randomness for reproducible traffic (default Math.random). */
  random?: () => number;
}

/** One webhook to send: which message it belongs to, and how to build and sign it. */
export interface PlannedWebhook {
  provider: ProviderName;
  /** Index of the message (recipient row) it is about. */
  message: number;
  /** Delivery id: Telnyx `data.id`, Resend `svix-id`, else the first event id. Retries of the same delivery keep it. */
  deliveryId: string;
  /** The `providerEventId`s it yields once normalized. */
  eventIds: string[];
  body: string;
  /** True for a provider retry of an earlier delivery. */
  duplicate: boolean;
  /** True when it is the last lifecycle step of an in-order message (used for end-to-end time). */
  final: boolean;
}

export interface PlannedMessage {
  provider: ProviderName;
  providerMessageId: string;
  /** The status the recipient row must end in. */
  expectedStatus: string;
  /** Its webhooks were sent in lifecycle order (so the last one sent is the one that changes the row last). */
  inOrder: boolean;
}

export interface TrafficPlan {
  messages: PlannedMessage[];
  webhooks: PlannedWebhook[];
}

/** Fisher–Yates on a copy. */
function shuffled<T>(xs: T[], random: () => number): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Plans provider-realistic traffic: Telnyx `message.sent` then `message.finalized` (mostly
 * delivered, some failed), some with several recipients; Resend `email.sent`, `email.delivered`
 * (or bounced), some `email.opened`; a share of messages reordered, a share of webhooks retried.
 * Webhooks of different messages are interleaved so a message's lifecycle spreads over the run.
 */
export function planTraffic(options: TrafficOptions): TrafficPlan {
  const random = options.random ?? Math.random;
  const messages: PlannedMessage[] = [];
  const perMessage: PlannedWebhook[][] = [];
  const base = Date.now();
  for (let m = 0; m < options.messages; m++) {
    const provider: ProviderName =
      options.providers !== undefined && options.providers.length > 0
        ? (options.providers[Math.floor(random() * options.providers.length)] as ProviderName)
        : random() < options.telnyxShare
          ? "telnyx"
          : "resend";
    const id = provider === "twilio" ? `SM${randomUUID().replace(/-/g, "")}` : randomUUID();
    const reorder = random() < options.reorderShare;
    const steps: PlannedWebhook[] = [];
    let expected: string;
    if (provider === "telnyx") {
      const phones = Array.from({ length: random() < options.multiRecipientShare ? 3 : 1 }, (_, k) => `+1555${String(m % 10_000_000).padStart(7, "0")}${k}`);
      const failed = random() < 0.05;
      const lifecycle: TelnyxStatus[] = ["sent", failed ? "delivery_failed" : "delivered"];
      expected = failed ? "failed" : "delivered";
      lifecycle.forEach((status, step) => {
        const deliveryId = randomUUID();
        steps.push({
          provider: "telnyx",
          message: m,
          deliveryId,
          eventIds: phones.map((p) => `${deliveryId}:${p}`),
          body: telnyxBody({ eventId: deliveryId, messageId: id, to: phones.map((phone) => ({ phone, status })), occurredAt: new Date(base + step * 1000) }),
          duplicate: false,
          final: false,
        });
      });
    } else if (provider === "resend") {
      const bounced = random() < 0.03;
      const lifecycle: ResendType[] = ["email.sent", bounced ? "email.bounced" : "email.delivered"];
      if (!bounced && random() < options.openShare) lifecycle.push("email.opened");
      expected = bounced ? "bounced" : "delivered";
      lifecycle.forEach((type, step) => {
        const deliveryId = `msg_${randomUUID().replace(/-/g, "")}`;
        steps.push({
          provider: "resend",
          message: m,
          deliveryId,
          eventIds: [deliveryId],
          body: resendBody({ emailId: id, type, to: `user${m}@example.com`, occurredAt: new Date(base + step * 1000) }),
          duplicate: false,
          final: false,
        });
      });
    } else {
      const profile = PROVIDER_PROFILES[provider as ExtraProvider];
      const failed = random() < 0.05;
      const to = profile.channel === "sms" ? `+1555${String(m % 10_000_000).padStart(7, "0")}0` : `user${m}@example.com`;
      const lifecycle = [profile.steps.sent, failed ? profile.steps.failed : profile.steps.delivered];
      if (!failed && profile.steps.opened !== undefined && random() < options.openShare) lifecycle.push(profile.steps.opened);
      expected = profile.final[failed ? "failed" : "delivered"];
      lifecycle.forEach((status, step) => {
        if (status === undefined) return;
        const built = profile.build({ messageId: id, to, status, occurredAt: new Date(base + step * 1000) });
        steps.push({ provider, message: m, deliveryId: built.eventIds[0] ?? "", eventIds: built.eventIds, body: built.body, duplicate: false, final: false });
      });
    }
    if (reorder) steps.reverse();
    else steps[steps.length - 1]!.final = true;
    for (const s of steps.slice()) {
      if (random() < options.duplicateShare) steps.push({ ...s, duplicate: true, final: false });
    }
    messages.push({ provider, providerMessageId: id, expectedStatus: expected, inOrder: !reorder });
    perMessage.push(steps);
  }
  // Interleave: take messages' steps round-robin from a shuffled order, so each lifecycle is
  // spread out in time while keeping its own order.
  const order = shuffled(
    perMessage.map((_, i) => i),
    random,
  );
  const webhooks: PlannedWebhook[] = [];
  for (let round = 0; webhooks.length < perMessage.reduce((n, s) => n + s.length, 0); round++) {
    for (const i of order) {
      const step = perMessage[i]![round];
      if (step) webhooks.push(step);
    }
  }
  return { messages, webhooks };
}
