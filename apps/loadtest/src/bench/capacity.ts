/**
 * `BENCH_ONLY=capacity`: the capacity of this one machine. The whole system (gateway, worker,
 * nats-server, PostgreSQL, and the load generator) on this machine, stepped through arrival rates
 * by a bounded search: the highest rate whose backlog stays flat for the step with end-to-end
 * p99 under 2 s, with each process's CPU share at that rate, next to bare node:http's throughput
 * measured in the same run.
 *
 * Knobs: BENCH_CAPACITY_SECONDS (60) per step, BENCH_CAPACITY_START (5000) first rate,
 * BENCH_CAPACITY_STEPS (5) steps at most.
 */
import { startSystem, type System } from "../harness/system.js";
import type { LoadProgress } from "../open-load.js";
import { otherAnswers, runLoad, type RunReport } from "../run.js";
import type { SigningSecrets, WebhookSigner } from "../webhooks.js";
import { capacityOf, judgeStep, nextRate, type BacklogSample, type CapacityStep, type SearchPlan } from "./capacity-search.js";
import { cpuShares, formatShares, natsServerPid, postmasterPid, readCpu, type CpuReading, type ProcessGroups } from "./cpu.js";
import { add, log, round } from "./figures.js";
import { machineBetween, readMachine, type MachineReading } from "./machine.js";
import { SUSTAINED_MIX } from "./mix.js";

const STEP_SECONDS = Number(process.env.BENCH_CAPACITY_SECONDS ?? 60);
const PLAN: SearchPlan = {
  start: Number(process.env.BENCH_CAPACITY_START ?? 5000),
  growth: 1.5,
  maxSteps: Number(process.env.BENCH_CAPACITY_STEPS ?? 5),
  resolution: 0.1,
  quantum: 250,
};
/** Worker settings as deployed (the harness's defaults are tuned for fast tests). */
const PRODUCTION_WORKER = { WEBHOOK_FLUSH_INTERVAL: "1000", WEBHOOK_ACK_WAIT_MS: "30000", PARKED_REMATCH_INTERVAL_MS: "1000" };

export interface CapacityContext {
  secrets: SigningSecrets;
  signer: WebhookSigner;
  /** Bare node:http's throughput on this machine in this run (wrk, 256 connections). */
  bareRps(): Promise<number>;
  /** Generator processes sharing each step's schedule. */
  generators: number;
  /** Seconds of the same traffic before each step, not measured. */
  warmupSeconds: number;
}

interface StepResult extends CapacityStep {
  why: string;
  p99: number;
  shares: Record<string, number>;
  note: string;
}

/** Messages not yet acknowledged by a worker (pending plus in flight), and the stream's last sequence. */
async function backlogOf(s: System): Promise<{ backlog: number; lastSeq: number }> {
  const c = await s.queueConnection.jsm.consumers.info(s.queue.stream, s.queue.consumer);
  return { backlog: c.num_pending + c.num_ack_pending, lastSeq: c.delivered.stream_seq + c.num_pending };
}

async function processGroups(s: System): Promise<ProcessGroups> {
  const port = Number(new URL(s.natsUrl.includes("://") ? s.natsUrl : `nats://${s.natsUrl}`).port || 4222);
  const nats = natsServerPid(port);
  return {
    gateway: [s.gateway.child.pid!],
    worker: s.workers.map((w) => w.child.pid!),
    "nats-server": nats ? [nats] : [],
    postgres: { tree: await postmasterPid(s.pool) },
  };
}

/** What went wrong with a step's webhooks themselves, if anything. */
function webhookProblem(r: RunReport): string | undefined {
  const problems: string[] = [];
  if (r.load.saturated > 0) problems.push(`${r.load.saturated} arrivals not sent (the generator's in-flight limit was reached: answers too slow)`);
  if (r.load.ok < r.load.sent) problems.push(`${r.load.sent - r.load.ok} of ${r.load.sent} not answered 2xx (${otherAnswers(r.load.byStatus)})`);
  if (!r.correctness.ok) problems.push(`exactly-once check failed (${r.correctness.missingEvents} missing, ${r.correctness.wrongStatus} wrong status, ${r.correctness.invariantViolations} counter mismatches)`);
  return problems.length ? problems.join("; ") : undefined;
}

/** Holds `rate` for the step's length on a fresh system and judges it. */
async function runStep(ctx: CapacityContext, rate: number): Promise<StepResult> {
  const s = await startSystem({ secrets: ctx.secrets, workers: 1, workerEnv: PRODUCTION_WORKER });
  try {
    const samples: BacklogSample[] = [];
    let groups: ProcessGroups | undefined;
    let first: { cpu: CpuReading; machine: MachineReading; lastSeq: number; t: number } | undefined;
    let last: typeof first;
    const sample = async (p: LoadProgress) => {
      groups ??= await processGroups(s);
      const { backlog, lastSeq } = await backlogOf(s);
      const reading = { cpu: readCpu(groups), machine: readMachine(), lastSeq, t: p.elapsedMs / 1000 };
      first ??= reading;
      last = reading;
      samples.push({ t: reading.t, backlog });
    };
    let sampling = Promise.resolve();
    const r = await runLoad({
      gatewayUrl: s.gatewayUrl,
      databaseUrl: s.database.url,
      signer: ctx.signer,
      rate,
      messages: Math.ceil((rate * STEP_SECONDS) / 2.25),
      ...SUSTAINED_MIX,
      settleTimeoutMs: 120_000,
      generators: ctx.generators,
      warmupSeconds: ctx.warmupSeconds,
      onLoadProgress: (p) => {
        sampling = sampling.then(() => sample(p)).catch((err: unknown) => log(`capacity: a backlog sample failed: ${String(err)}`));
      },
    });
    await sampling;
    // The generator processes measure their own CPU over the run.
    const span = first && last && last !== first ? { from: first, to: last } : undefined;
    const shares = { ...(span ? cpuShares(span.from.cpu, span.to.cpu) : {}), generator: r.load.cpuCores };
    const messagesPerSecond = span && span.to.t > span.from.t ? (span.to.lastSeq - span.from.lastSeq) / (span.to.t - span.from.t) : 0;
    const judged = judgeStep({
      samples,
      messagesPerSecond,
      endToEndP99Ms: r.endToEnd.p99,
      problem: webhookProblem(r),
      latenessP99Ms: r.load.lateness.p99,
    });
    const machine = span ? machineBetween(span.from.machine, span.to.machine) : undefined;
    const busy = machine ? `; machine busy ${machine.busyCores.toFixed(2)} of ${machine.cores} cores` : "";
    const note = `${rate}/s: ${judged.verdict} (${judged.why}); e2e p99 ${round(r.endToEnd.p99)} ms, response p99 ${round(r.latency.p99)} ms, lateness p99 ${round(r.load.lateness.p99)} ms, backlog growth ${round(judged.growth)} msgs, ${r.load.ok}/${r.load.sent} 2xx; CPU cores: ${formatShares(shares)}${busy}`;
    log(`capacity step ${note}`);
    return { rate, verdict: judged.verdict, why: judged.why, p99: r.endToEnd.p99, shares, note };
  } finally {
    await s.stop();
  }
}

export async function capacityFigures(ctx: CapacityContext): Promise<void> {
  const steps: StepResult[] = [];
  for (let rate = nextRate(steps, PLAN); rate !== undefined; rate = nextRate(steps, PLAN)) steps.push(await runStep(ctx, rate));
  const capacity = capacityOf(steps);
  const bare = await ctx.bareRps();
  const at = steps.find((s) => s.rate === capacity);
  const generatorBound = steps.some((s) => s.verdict === "generator");
  add({
    section: "Capacity of one machine",
    figure: `Highest arrival rate with a flat backlog for ${STEP_SECONDS} s and end-to-end p99 < 2 s (gateway, worker, NATS, PostgreSQL and the generator on this machine)${generatorBound ? "; the generator fell behind above it" : ""}`,
    value: capacity ?? 0,
    unit: "webhooks/s",
    baseline: { what: "bare node:http (wrk -c256)", value: bare, unit: "req/s" },
    ratio: (capacity ?? 0) / bare,
    note: `${at ? `CPU cores at ${at.rate}/s: ${formatShares(at.shares)}; ` : "no step passed; "}steps: ${steps.map((s) => `${s.rate} ${s.verdict}`).join(", ")}`,
  });
  for (const s of steps) log(`capacity: ${s.note}`);
}
