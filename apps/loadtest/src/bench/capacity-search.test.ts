import { describe, expect, it } from "vitest";
import { backlogSlope, capacityOf, judgeStep, nextRate, type CapacityStep, type SearchPlan } from "./capacity-search.js";

const plan: SearchPlan = { start: 5000, growth: 1.5, maxSteps: 6, resolution: 0.1, quantum: 250 };

/** Runs the search against a machine that sustains `limit`/s. */
function search(limit: number, p = plan): CapacityStep[] {
  const steps: CapacityStep[] = [];
  for (let rate = nextRate(steps, p); rate !== undefined; rate = nextRate(steps, p)) steps.push({ rate, verdict: rate <= limit ? "pass" : "fail" });
  return steps;
}

describe("capacity search", () => {
  it("grows while steps pass, then halves the gap to within the resolution", () => {
    const steps = search(9000);
    expect(steps.map((s) => s.rate)).toEqual([5000, 7500, 11250, 9500, 8500, 9000]);
    expect(capacityOf(steps)).toBe(9000);
  });

  it("stops at the step budget, and at the resolution", () => {
    expect(search(100_000).length).toBe(6);
    expect(search(100_000).map((s) => s.rate)).toEqual([5000, 7500, 11250, 17000, 25500, 38250]);
    expect(search(8000, { ...plan, maxSteps: 10 }).map((s) => s.rate)).toEqual([5000, 7500, 11250, 9500, 8500, 8000]);
  });

  it("goes down when the first step fails", () => {
    const steps = search(2000);
    expect(steps.map((s) => s.rate)).toEqual([5000, 3250, 2250, 1500, 2000]);
    expect(capacityOf(steps)).toBe(2000);
  });

  it("ends the search when the generator could not keep up, keeping what passed below", () => {
    const steps: CapacityStep[] = [
      { rate: 5000, verdict: "pass" },
      { rate: 7500, verdict: "generator" },
    ];
    expect(nextRate(steps, plan)).toBeUndefined();
    expect(capacityOf(steps)).toBe(5000);
    expect(capacityOf([{ rate: 5000, verdict: "fail" }])).toBeUndefined();
  });

  it("refuses a plan that cannot end", () => {
    expect(() => nextRate([], { ...plan, growth: 1 })).toThrow(RangeError);
  });
});

describe("judging a step", () => {
  const flat = Array.from({ length: 61 }, (_, t) => ({ t, backlog: 40 + (t % 3) * 20 }));
  const growing = Array.from({ length: 61 }, (_, t) => ({ t, backlog: 40 + t * 50 }));
  const evidence = { samples: flat, messagesPerSecond: 1000, endToEndP99Ms: 300, latenessP99Ms: 3 };

  it("fits the backlog's slope by least squares", () => {
    expect(backlogSlope(growing)).toBeCloseTo(50, 9);
    expect(Math.abs(backlogSlope(flat))).toBeLessThan(0.5);
    expect(backlogSlope([{ t: 0, backlog: 9 }])).toBe(0);
  });

  it("passes a flat backlog with p99 under 2 s, and fails each way it can miss", () => {
    expect(judgeStep(evidence).verdict).toBe("pass");
    const grew = judgeStep({ ...evidence, samples: growing });
    expect(grew.verdict).toBe("fail");
    expect(grew.growth).toBeCloseTo(3000, 6);
    expect(judgeStep({ ...evidence, endToEndP99Ms: 2000 }).why).toMatch(/p99 2000 ms/);
    expect(judgeStep({ ...evidence, problem: "12 answered 503" })).toMatchObject({ verdict: "fail", why: "12 answered 503" });
    // late sends within 5 % of the end-to-end bound change neither the backlog nor the timing
    expect(judgeStep({ ...evidence, latenessP99Ms: 100 }).verdict).toBe("pass");
    expect(judgeStep({ ...evidence, latenessP99Ms: 101 })).toMatchObject({ verdict: "generator", why: /lateness p99 101 ms > 100 ms/ });
    expect(judgeStep({ ...evidence, latenessP99Ms: Number.NaN }).verdict).toBe("generator");
    // the system failed under less load than scheduled: a failure all the same
    expect(judgeStep({ ...evidence, latenessP99Ms: 500, endToEndP99Ms: 9000 }).verdict).toBe("fail");
  });
});
