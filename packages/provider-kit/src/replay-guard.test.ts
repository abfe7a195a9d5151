import { describe, expect, it } from "vitest";
import { createReplayGuard } from "./replay-guard.js";

describe("createReplayGuard", () => {
  it("refuses a token claimed and not expired; accepts it again once expired or released", () => {
    const guard = createReplayGuard();
    expect(guard.claim("t", 2000, 1000)).toBe(true);
    expect(guard.claim("t", 2000, 1500)).toBe(false);
    expect(guard.claim("t", 3000, 2000)).toBe(true); // expired at 2000
    guard.release("t");
    expect(guard.claim("t", 4000, 2500)).toBe(true);
    expect(guard.claim("u", 4000, 2500)).toBe(true);
  });

  it("prunes expired tokens as it goes and stays within its capacity", () => {
    const guard = createReplayGuard({ capacity: 3 });
    for (let i = 0; i < 10; i++) guard.claim(`t${i}`, 10_000, 0);
    expect(guard.size).toBe(3);
    expect(guard.claim("t9", 10_000, 0)).toBe(false);
    expect(guard.claim("t0", 10_000, 0)).toBe(true); // forgotten: only the ledger would catch this one
    guard.claim("late", 20_000, 10_001);
    expect(guard.size).toBe(1);
    expect(() => createReplayGuard({ capacity: 0 })).toThrow(RangeError);
  });
});
