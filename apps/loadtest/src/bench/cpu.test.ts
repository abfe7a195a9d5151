import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpuShares, formatShares, readCpu } from "./cpu.js";
import { treeCpuSeconds } from "./proc.js";

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

  it("counts a process tree's children, also once they have exited", () => {
    const before = readCpu({ me: { tree: process.pid } });
    // A child that burns ~0.3 s of CPU and is reaped before the second reading.
    spawnSync(process.execPath, ["-e", "const t = Date.now(); while (Date.now() - t < 300) {}"]);
    const after = readCpu({ me: { tree: process.pid } });
    const used = after.seconds.me!.get(process.pid)! - before.seconds.me!.get(process.pid)!;
    expect(used).toBeGreaterThan(0.2);
    expect(treeCpuSeconds(process.pid)).toBeGreaterThanOrEqual(after.seconds.me!.get(process.pid)!);
  });
});
