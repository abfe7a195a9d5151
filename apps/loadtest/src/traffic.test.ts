import { describe, expect, it } from "vitest";
import { createProviderRuntime } from "@floodgate/provider-kit";
import { createSnsTestFetch } from "@floodgate/provider-kit/signing";
import { bandwidth } from "@floodgate/provider-bandwidth";
import { mailgun } from "@floodgate/provider-mailgun";
import { sendgrid } from "@floodgate/provider-sendgrid";
import { ses } from "@floodgate/provider-ses";
import { twilio } from "@floodgate/provider-twilio";
import { planTraffic } from "./traffic.js";
import { createWebhookSigner, generateSigningSecrets, signedRequest } from "./webhooks.js";

function seeded(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe("planTraffic", () => {
  const plan = planTraffic({ messages: 2000, telnyxShare: 0.5, multiRecipientShare: 0.1, duplicateShare: 0.05, reorderShare: 0.1, openShare: 0.3, random: seeded(7) });

  it("gives every message a lifecycle of at least two webhooks from its provider", () => {
    const byMessage = new Map<number, typeof plan.webhooks>();
    for (const w of plan.webhooks) byMessage.set(w.message, [...(byMessage.get(w.message) ?? []), w]);
    expect(byMessage.size).toBe(2000);
    for (const [m, ws] of byMessage) {
      expect(ws.filter((w) => !w.duplicate).length).toBeGreaterThanOrEqual(2);
      expect(new Set(ws.map((w) => w.provider))).toEqual(new Set([plan.messages[m]!.provider]));
    }
  });

  it("mixes providers, multi-recipient Telnyx webhooks, duplicates and reordered messages in the asked shares", () => {
    const telnyx = plan.messages.filter((m) => m.provider === "telnyx").length;
    expect(telnyx).toBeGreaterThan(900);
    expect(telnyx).toBeLessThan(1100);
    const multi = plan.webhooks.filter((w) => w.provider === "telnyx" && w.eventIds.length === 3 && !w.duplicate).length;
    expect(multi).toBeGreaterThan(100);
    const dupes = plan.webhooks.filter((w) => w.duplicate);
    expect(dupes.length / plan.webhooks.length).toBeGreaterThan(0.03);
    expect(dupes.length / plan.webhooks.length).toBeLessThan(0.07);
    for (const d of dupes) expect(plan.webhooks.some((w) => !w.duplicate && w.deliveryId === d.deliveryId && w.body === d.body)).toBe(true);
    const reordered = plan.messages.filter((m) => !m.inOrder).length;
    expect(reordered).toBeGreaterThan(150);
    expect(reordered).toBeLessThan(250);
    expect(plan.webhooks.some((w) => w.body.includes('"message.sent"'))).toBe(true);
    expect(plan.webhooks.some((w) => w.body.includes('"message.finalized"'))).toBe(true);
  });

  it("marks exactly the last step of each in-order message as final", () => {
    const finals = plan.webhooks.filter((w) => w.final);
    expect(finals.length).toBe(plan.messages.filter((m) => m.inOrder).length);
    for (const f of finals) {
      const steps = plan.webhooks.filter((w) => w.message === f.message && !w.duplicate);
      expect(steps[steps.length - 1]).toBe(f);
    }
  });
});

describe("planTraffic with --providers", () => {
  const providers = ["twilio", "bandwidth", "sendgrid", "ses", "mailgun"] as const;
  const plan = planTraffic({ messages: 500, telnyxShare: 0, providers, multiRecipientShare: 0, duplicateShare: 0.05, reorderShare: 0.1, openShare: 0.3, random: seeded(11) });

  it("spreads messages over exactly the providers asked for, each lifecycle from its own provider", () => {
    const used = new Set(plan.messages.map((m) => m.provider));
    expect([...used].sort()).toEqual([...providers].sort());
    for (const w of plan.webhooks) expect(w.provider).toBe(plan.messages[w.message]!.provider);
    for (const p of providers) expect(plan.messages.filter((m) => m.provider === p).length).toBeGreaterThan(60);
  });

  it("every webhook names the event ids it carries, and ends each message in the provider's final status", () => {
    for (const w of plan.webhooks) expect(w.eventIds.length).toBeGreaterThan(0);
    expect(new Set(plan.messages.map((m) => m.expectedStatus))).toEqual(new Set(["delivered", "failed", "bounced"]));
  });

  it("signed by the load generator, every webhook of the mix verifies and maps with the provider's own runtime", async () => {
    const secrets = generateSigningSecrets();
    const signer = createWebhookSigner(secrets);
    const env: Record<string, string> = { ...secrets };
    const runtimes = new Map([
      ["twilio", createProviderRuntime(twilio, env)],
      ["bandwidth", createProviderRuntime(bandwidth, env)],
      ["sendgrid", createProviderRuntime(sendgrid, env)],
      ["ses", createProviderRuntime(ses, env, { fetch: createSnsTestFetch([{ url: secrets.LOADTEST_SNS_CERT_URL, pem: Buffer.from(secrets.LOADTEST_SNS_CERT_PEM, "base64").toString(), privateKey: undefined as never, region: "us-east-1" }]).fetch })],
      ["mailgun", createProviderRuntime(mailgun, env)],
    ]);
    for (const w of plan.webhooks.slice(0, 200)) {
      const r = signedRequest(signer, w.provider, w.body, { deliveryId: w.deliveryId });
      const result = await runtimes.get(w.provider)!.handle({ body: Buffer.from(r.body), headers: r.headers, url: r.path, method: "POST" });
      expect(result, `${w.provider}: ${JSON.stringify(result)}`).toMatchObject({ ok: true });
      if (result.ok) expect(result.events.map((e) => e.providerEventId)).toEqual(w.eventIds);
    }
  });
});
