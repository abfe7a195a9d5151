/**
 * `BENCH_ONLY=workers`: how the worker scales out. 1, 2 and 4 worker processes on one consumer and
 * one PostgreSQL drain the same backlog, each count against the raw PostgreSQL ceiling measured in
 * the same system (BENCH_WORKERS_EVENTS events per run, default 100,000; BENCH_WORKER_COUNTS to
 * change the counts).
 */
import { startSystem } from "../harness/system.js";
import { waitFor } from "../harness/processes.js";
import { appliedCount, GROUP, insertRecipients, publishBacklog, rawPostgresRate } from "./backlog.js";
import { add, log, round } from "./figures.js";
import { procStats } from "./proc.js";

const EVENTS = Number(process.env.BENCH_WORKERS_EVENTS ?? 100_000);
const COUNTS = (process.env.BENCH_WORKER_COUNTS ?? "1,2,4").split(",").map(Number);
const PRODUCTION = { WEBHOOK_FLUSH_INTERVAL: "1000", WEBHOOK_ACK_WAIT_MS: "30000", PARKED_REMATCH_INTERVAL_MS: "1000" };

/** What one run measured: events applied per second once every worker was pulling, and their CPU. */
interface Drain {
  rate: number;
  cpuPer10k: number;
  /** The raw PostgreSQL ceiling measured in the same system just before. */
  pg: number;
}

/**
 * Starts `count` workers on an empty stream, then publishes the backlog and times them until the
 * last event is applied: every worker is up before the clock starts.
 */
async function drainWith(count: number): Promise<Drain> {
  const s = await startSystem({ workers: count, workerEnv: PRODUCTION });
  try {
    // The ceiling in the same database, before the run (rows of their own).
    const pg = await rawPostgresRate(s, `bench-pg-${count}`, Math.min(EVENTS, 50_000));
    const ids = await insertRecipients(s, `bench-workers-${count}`, EVENTS);
    const pids = s.workers.map((w) => w.child.pid!);
    const cpuOf = () => pids.reduce((sum, pid) => sum + procStats(pid).cpuSeconds, 0);
    const before = await appliedCount(s);
    const cpuBefore = cpuOf();
    // The clock runs from the first publish: the workers, idle and ready, start at once, and
    // publishing (a few hundred ms) overlaps applying. Timing from the first commit instead
    // would leave out the first wave, which with 4 workers can be most of the backlog.
    const t0 = performance.now();
    const publishing = publishBacklog(s, ids);
    await waitFor(`${EVENTS} events applied by ${count} workers`, async () => (await appliedCount(s)) - before >= EVENTS, 600_000, 200);
    const seconds = (performance.now() - t0) / 1000;
    await publishing;
    return { pg, rate: EVENTS / seconds, cpuPer10k: ((cpuOf() - cpuBefore) / EVENTS) * 10_000 };
  } finally {
    await s.stop();
  }
}

/** Adds a row per worker count: events/s against the raw PostgreSQL ceiling of the same run. */
export async function workerScaleFigures(): Promise<void> {
  const section = "Workers, scaling out";
  let single: number | undefined;
  for (const count of COUNTS) {
    log(`${count} worker(s) draining ${EVENTS} events`);
    const d = await drainWith(count);
    single ??= d.rate;
    add({
      section,
      figure: `Events applied per second, ${count} worker process${count === 1 ? "" : "es"} on one consumer and one PostgreSQL`,
      value: d.rate,
      unit: "events/s",
      baseline: { what: "raw PostgreSQL UPDATE…FROM unnest ×1000, one connection", value: d.pg, unit: "rows/s" },
      ratio: d.rate / d.pg,
      note: `×${round(d.rate / single)} of 1 worker; ${round(d.cpuPer10k)} worker CPU s per 10 k events; messages of ${GROUP} events, batches of 100 messages, 10 in parallel per worker`,
    });
  }
}
