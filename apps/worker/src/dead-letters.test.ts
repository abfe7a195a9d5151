import { providers } from "@floodgate/gateway/providers";
import { decodeEvents, defineProvider, type ProviderDefinition } from "@floodgate/provider-kit";
import type { DeadLetter } from "@floodgate/queue";
import { describe, expect, it } from "vitest";
import { createRawResolver, viewOf } from "./dead-letters.js";

const resend = providers.find((p) => p.id === "resend")!;

function rawLetter(body: unknown, over: Partial<DeadLetter["info"]> = {}): DeadLetter {
  return {
    seq: 7,
    data: Buffer.from(JSON.stringify(body)),
    info: {
      kind: "raw",
      reason: "unsupported_event",
      error: "event type email.teleported",
      attempts: 0,
      originalSubject: "fg.resend.unmapped",
      originalSeq: 0,
      deadAt: 1_700_000_000_000,
      provider: "resend",
      type: "unmapped",
      raw: { verifiedBy: "standard-webhooks", deliveryId: "msg_42", contentType: "application/json" },
      ...over,
    },
  };
}

const teleported = { type: "email.teleported", created_at: "2026-11-28T10:00:00.000Z", data: { email_id: "3f1c7c1e-0d6b-4d55-9a8e-1c2b3d4e5f60", to: ["a@b.test"] } };

/** Resend, "upgraded" to know email.teleported (mapped like a delivery). */
const upgradedResend: ProviderDefinition<unknown> = defineProvider({
  ...resend,
  extract(payload, context) {
    const p = payload as { type?: string };
    if (p.type !== "email.teleported") return resend.extract(payload, context);
    const result = resend.extract({ ...p, type: "email.delivered" }, context);
    return result.ok ? { ...result, events: result.events.map((e) => ({ ...e, type: "email.teleported", rawStatus: "email.teleported" })) } : result;
  },
});

describe("raw dead letters", () => {
  it("the gateway's own plugins still cannot map an unknown type: it stays, with the plugin's reason", () => {
    const plan = createRawResolver(providers)(rawLetter(teleported));
    expect(plan.messages).toEqual([]);
    expect(plan.unmapped).toEqual([{ reason: "unsupported_event", detail: "event type email.teleported", body: expect.any(Uint8Array) }]);
  });

  it("a plugin that maps it puts its events on the work queue's subject, with the verified delivery id", () => {
    const plan = createRawResolver([upgradedResend])(rawLetter(teleported));
    expect(plan.unmapped).toEqual([]);
    expect(plan.messages).toHaveLength(1);
    expect(plan.messages[0]!.subject).toBe("fg.resend.email_teleported");
    const [event] = decodeEvents(plan.messages[0]!.data);
    expect(event).toMatchObject({ provider: "resend", providerEventId: "msg_42", status: "delivered", type: "email.teleported", recipient: "a@b.test" });
  });

  it("a type the plugin now ignores is replayed to nothing; an unknown provider stays", () => {
    expect(createRawResolver(providers)(rawLetter({ type: "contact.created", data: {} }))).toEqual({ messages: [], unmapped: [] });
    const plan = createRawResolver(providers)(rawLetter(teleported, { provider: "acme" }));
    expect(plan.unmapped[0]!.detail).toMatch(/no provider plugin "acme"/);
  });

  it("shows a raw letter with its request, its body as text, and no events", () => {
    const view = viewOf(rawLetter(teleported));
    expect(view).toMatchObject({ seq: 7, kind: "raw", events: null, request: { deliveryId: "msg_42", verifiedBy: "standard-webhooks" } });
    expect(JSON.parse(view.body!)).toEqual(teleported);
  });
});
