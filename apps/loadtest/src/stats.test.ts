import { describe, expect, it } from "vitest";
import { LatencyRecorder, formatMs } from "./stats.js";

describe("LatencyRecorder", () => {
  it("computes nearest-rank percentiles over all samples, growing past its capacity", () => {
    const r = new LatencyRecorder(4);
    for (let i = 100; i >= 1; i--) r.record(i);
    expect(r.summary()).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
  });

  it("summarizes an empty run as zeros", () => {
    expect(new LatencyRecorder().summary().count).toBe(0);
  });

  it("formats durations for humans", () => {
    expect(formatMs(0.842)).toBe("0.84 ms");
    expect(formatMs(12.34)).toBe("12.3 ms");
    expect(formatMs(1520)).toBe("1.52 s");
  });
});
