import { describe, expect, it } from "vitest";
import { digestId, eventIdOf } from "./ids.js";

describe("synthesized ids", () => {
  it("joins the present parts with colons", () => {
    expect(eventIdOf("SM1", "delivered")).toBe("SM1:delivered");
    expect(eventIdOf("SM1", "undelivered", "30003")).toBe("SM1:undelivered:30003");
    expect(eventIdOf("SM1", "sent", null, undefined, "")).toBe("SM1:sent");
    expect(eventIdOf("m", 1)).toBe("m:1");
  });

  it("digests a body to a stable 22-character id", () => {
    expect(digestId(Buffer.from("[]"))).toBe(digestId(Buffer.from("[]")));
    expect(digestId(Buffer.from("[]"))).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(digestId(Buffer.from("[1]"))).not.toBe(digestId(Buffer.from("[]")));
  });
});
