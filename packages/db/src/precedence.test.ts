import { STATUSES } from "@floodgate/provider-kit";
import { describe, expect, it } from "vitest";
import { ENGAGEMENT_STATUSES, STATUS_PRECEDENCE, recipientStatusOf, statusRank } from "./precedence.js";

describe("status precedence", () => {
  it("ranks every provider-kit status, engagement ones as delivered", () => {
    for (const s of STATUSES) expect(statusRank(s)).toBeGreaterThanOrEqual(0);
    expect(new Set([...STATUS_PRECEDENCE, ...ENGAGEMENT_STATUSES])).toEqual(new Set(STATUSES));
    expect(statusRank("opened")).toBe(statusRank("delivered"));
    expect(statusRank("clicked")).toBe(statusRank("delivered"));
    expect(statusRank("nonsense")).toBe(-1);
  });

  it("is the documented order", () => {
    expect(STATUS_PRECEDENCE).toEqual([
      "queued", "sent", "delayed", "unknown", "delivered", "failed", "bounced", "unsubscribed", "complained",
    ]);
  });

  it("maps engagement events onto delivered and leaves the rest alone", () => {
    expect(recipientStatusOf("opened")).toBe("delivered");
    expect(recipientStatusOf("clicked")).toBe("delivered");
    for (const s of STATUS_PRECEDENCE) expect(recipientStatusOf(s)).toBe(s);
  });
});
