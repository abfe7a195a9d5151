import { describe, expect, it } from "vitest";
import { sanitizeToken, subjectFor } from "./subject.js";

describe("subjectFor", () => {
  it("builds <prefix>.<provider>.<type>", () => {
    expect(subjectFor("webhook", "telnyx", "call_initiated")).toBe("webhook.telnyx.call_initiated");
  });

  it("keeps provider and type to one token each", () => {
    expect(subjectFor("webhook", "stripe", "invoice.paid")).toBe("webhook.stripe.invoice_paid");
    expect(subjectFor("webhook", "a.b", "*")).toBe("webhook.a_b._");
    expect(subjectFor("webhook", "x y", ">")).toBe("webhook.x_y._");
    expect(subjectFor("webhook", "", "e")).toBe("webhook._.e");
  });

  it("returns clean tokens unchanged (same string)", () => {
    const t = "Email-Delivered_2";
    expect(sanitizeToken(t)).toBe(t);
    expect(sanitizeToken("é")).toBe("_");
  });
});
