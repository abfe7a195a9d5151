import { describe, expect, it } from "vitest";
import { cpuShares, formatShares, readCpu } from "./cpu.js";

describe("CPU shares", () => {
  it("divides each group's CPU time between two readings by the wall time, over the processes in both", () => {
    const from = { at: 1000, seconds: { gateway: new Map([[10, 5]]), postgres: new Map([[20, 1], [21, 7]]) } };
    const to = { at: 3000, seconds: { gateway: new Map([[10, 6.5]]), postgres: new Map([[20, 1.4], [22, 0.3]]) } };
    const shares = cpuShares(from, to);
    expect(shares.gateway).toBeCloseTo(0.75, 9);
    // pid 21 exited and pid 22 appeared: neither can be counted over the interval
    expect(shares.postgres).toBeCloseTo(0.2, 9);
    expect(formatShares(shares)).toBe("gateway 0.75, postgres 0.20");
    expect(() => cpuShares(to, from)).toThrow(RangeError);
  });

  it("reads this very process from /proc, and skips a pid that does not exist", () => {
    const reading = readCpu({ self: [process.pid], gone: [2 ** 22 + 1] });
    expect(reading.seconds.self!.get(process.pid)).toBeGreaterThan(0);
    expect(reading.seconds.gone!.size).toBe(0);
  });
});
