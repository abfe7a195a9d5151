import { describe, expect, it } from "vitest";
import { planTraffic } from "./traffic.js";

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
