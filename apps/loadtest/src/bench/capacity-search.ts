/**
 * The pure part of the capacity search: judging one step (a rate held for a while) and choosing
 * the next rate to try, a bounded search: grow while steps pass, then halve the gap.
 */

/** One step's verdict: `generator` when the load generator itself could not keep the schedule. */
export type StepVerdict = "pass" | "fail" | "generator";

export interface CapacityStep {
  rate: number;
  verdict: StepVerdict;
}

export interface SearchPlan {
  /** First rate tried (webhooks/s). */
  start: number;
  /** Factor by which the rate grows while steps pass (> 1). */
  growth: number;
  /** At most this many steps in all. */
  maxSteps: number;
  /** Stop once the gap between the best pass and the lowest failure is at most this fraction of the pass. */
  resolution: number;
  /** Rates are rounded to multiples of this. */
  quantum: number;
}

const roundTo = (n: number, q: number) => Math.max(q, Math.round(n / q) * q);

/** The next rate to try after `steps`, or undefined when the search is over. */
export function nextRate(steps: CapacityStep[], plan: SearchPlan): number | undefined {
  if (!(plan.growth > 1) || plan.maxSteps < 1 || plan.quantum <= 0) throw new RangeError("a search plan needs growth > 1, maxSteps ≥ 1 and quantum > 0");
  if (steps.length >= plan.maxSteps) return undefined;
  if (steps.length === 0) return roundTo(plan.start, plan.quantum);
  // A generator that cannot keep up says nothing about the system above that rate.
  if (steps.some((s) => s.verdict === "generator")) return undefined;
  const best = Math.max(0, ...steps.filter((s) => s.verdict === "pass").map((s) => s.rate));
  const failed = steps.filter((s) => s.verdict === "fail").map((s) => s.rate);
  const lowestFail = failed.length ? Math.min(...failed) : undefined;
  if (lowestFail === undefined) return roundTo(best * plan.growth, plan.quantum);
  if (best === 0) {
    const lower = roundTo(lowestFail / plan.growth, plan.quantum);
    return lower < lowestFail ? lower : undefined;
  }
  if (lowestFail - best <= best * plan.resolution) return undefined;
  const mid = roundTo((best + lowestFail) / 2, plan.quantum);
  return mid > best && mid < lowestFail ? mid : undefined;
}

/** The highest rate that passed below every failure (what the machine sustains), or undefined. */
export function capacityOf(steps: CapacityStep[]): number | undefined {
  const lowestFail = Math.min(...steps.filter((s) => s.verdict !== "pass").map((s) => s.rate));
  const passes = steps.filter((s) => s.verdict === "pass" && s.rate < lowestFail).map((s) => s.rate);
  return passes.length ? Math.max(...passes) : undefined;
}

/** A backlog reading during a step: seconds since the step started, and messages not yet acknowledged by a worker. */
export interface BacklogSample {
  t: number;
  backlog: number;
}

/** Least-squares slope of the backlog over time (messages per second); 0 for fewer than two samples. */
export function backlogSlope(samples: BacklogSample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  let st = 0;
  let sb = 0;
  for (const s of samples) {
    st += s.t;
    sb += s.backlog;
  }
  const mt = st / n;
  const mb = sb / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.backlog - mb);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface StepEvidence {
  samples: BacklogSample[];
  /** Messages stored per second during the step (what one second of backlog is). */
  messagesPerSecond: number;
  endToEndP99Ms: number;
  /** What went wrong with the webhooks themselves (not sent, not 2xx, not applied exactly once), if anything. */
  problem?: string;
  /** The generator's lateness p99 (first byte written − scheduled arrival), ms. */
  latenessP99Ms: number;
}

/** End-to-end p99 a step must stay under. */
export const STEP_P99_MS = 2000;

/**
 * Generator lateness p99 a step tolerates: 5 % of {@link STEP_P99_MS}. A capacity step is judged
 * on the backlog and on end-to-end times taken from each request's first byte written, so sends a
 * few tens of ms late change neither; the 5 ms rule of the latency rows is for claims about
 * response times. Later than this, arrivals bunch enough that the step did not hold the rate
 * scheduled, and it proves nothing.
 */
export const STEP_MAX_LATENESS_MS = STEP_P99_MS / 20;

/**
 * A step passes when the backlog stayed flat (over the whole step it grew by less than one
 * second of arrivals), end-to-end p99 stayed under 2 s and every webhook was accepted and applied,
 * with the generator on schedule ({@link STEP_MAX_LATENESS_MS}); it fails when any of the system's conditions failed, even with
 * a late generator; a late generator and nothing failed is `generator` (not known).
 */
export function judgeStep(e: StepEvidence): { verdict: StepVerdict; growth: number; why: string } {
  const duration = e.samples.length ? e.samples[e.samples.length - 1]!.t - e.samples[0]!.t : 0;
  const growth = backlogSlope(e.samples) * duration;
  // A late generator sent less than the schedule asked: a failure under that lighter load is still
  // a failure, but a pass proves nothing about the rate scheduled.
  if (e.problem) return { verdict: "fail", growth, why: e.problem };
  if (growth > e.messagesPerSecond) return { verdict: "fail", growth, why: `backlog grew by ${Math.round(growth)} messages (more than 1 s of arrivals, ${Math.round(e.messagesPerSecond)})` };
  if (e.endToEndP99Ms >= STEP_P99_MS) return { verdict: "fail", growth, why: `end-to-end p99 ${Math.round(e.endToEndP99Ms)} ms ≥ ${STEP_P99_MS} ms` };
  if (!(e.latenessP99Ms <= STEP_MAX_LATENESS_MS)) return { verdict: "generator", growth, why: `the load generator fell behind its schedule (lateness p99 ${Math.round(e.latenessP99Ms)} ms > ${STEP_MAX_LATENESS_MS} ms)` };
  return { verdict: "pass", growth, why: "flat backlog, end-to-end p99 under 2 s" };
}
