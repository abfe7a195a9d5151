import { describe, expect, it } from "vitest";
import { bucketsBetween, histogramQuantile, median, readBuckets, readValue } from "./latency.js";

const page = (n: (le: string) => number) =>
  [
    "# HELP webhook_response_duration_seconds Time from request start to response written",
    "# TYPE webhook_response_duration_seconds histogram",
    ...["0.005", "0.01", "0.025", "+Inf"].flatMap((le) => [
      `webhook_response_duration_seconds_bucket{le="${le}",provider="resend",code="202"} ${n(le)}`,
      `webhook_response_duration_seconds_bucket{le="${le}",provider="telnyx",code="202"} 1`,
    ]),
    `webhook_response_duration_seconds_sum{provider="resend",code="202"} 1.5`,
    `webhook_response_duration_seconds_count{provider="resend",code="202"} ${n("+Inf")}`,
    `webhook_other_bucket{le="0.005"} 99`,
  ].join("\n");

describe("gateway histogram", () => {
  it("sums every label set per bucket and ignores other metrics and lines", () => {
    const b = readBuckets(page(() => 10), "webhook_response_duration_seconds");
    expect([...b.entries()]).toEqual([
      [0.005, 11],
      [0.01, 11],
      [0.025, 11],
      [Number.POSITIVE_INFINITY, 11],
    ]);
  });

  it("counts only what happened between two scrapes", () => {
    const before = readBuckets(page(() => 100), "webhook_response_duration_seconds");
    const after = readBuckets(page((le) => ({ "0.005": 180, "0.01": 190, "0.025": 200, "+Inf": 200 })[le]!), "webhook_response_duration_seconds");
    const run = bucketsBetween(before, after);
    expect(run.get(Number.POSITIVE_INFINITY)).toBe(100);
    // 80 of 100 within 5 ms, 90 within 10 ms, all within 25 ms
    expect(histogramQuantile(run, 0.5)).toBeCloseTo(0.003125, 6); // rank 50 of 80 in [0, 5 ms]
    expect(histogramQuantile(run, 0.85)).toBeCloseTo(0.0075, 6); // rank 85: halfway through (5, 10]
    expect(histogramQuantile(run, 0.99)).toBeCloseTo(0.0235, 6); // rank 99: 9/10 of (10, 25]
  });

  it("answers the highest finite bound for a rank in +Inf, and nothing for an empty run", () => {
    const tail = new Map([
      [0.01, 90],
      [0.025, 95],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    expect(histogramQuantile(tail, 0.99)).toBe(0.025);
    expect(histogramQuantile(new Map([[Number.POSITIVE_INFINITY, 0]]), 0.99)).toBeUndefined();
    expect(() => histogramQuantile(tail, 99)).toThrow(RangeError);
  });
});

describe("median", () => {
  it("takes the middle of an odd count and the mean of the middle two of an even one", () => {
    expect(median([0.61, 0.49, 0.55])).toBe(0.55);
    expect(median([3, 1, 4, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe("reading one value", () => {
  it("sums a metric over its label sets, and tells a missing one", () => {
    const text = ['# HELP nodejs_gc_duration_seconds x', 'nodejs_gc_duration_seconds_sum{kind="minor"} 0.5', 'nodejs_gc_duration_seconds_sum{kind="major"} 0.25', "nodejs_eventloop_lag_p99_seconds 0.012", "nodejs_eventloop_lag_p99_seconds_total 9"].join("\n");
    expect(readValue(text, "nodejs_gc_duration_seconds_sum")).toBe(0.75);
    expect(readValue(text, "nodejs_eventloop_lag_p99_seconds")).toBe(0.012);
    expect(readValue(text, "nodejs_eventloop_lag_max_seconds")).toBeUndefined();
  });
});
