/**
 * Workers stopped (SIGTERM) and killed (SIGKILL) under load, and two workers sharing one
 * consumer: every webhook answered 2xx is applied exactly once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { refusals, retryUnacked, runDeliveries, settleAndReport } from "../harness/scenario.js";
import { scrapeSum, startSystem, type System } from "../harness/system.js";

let sys: System | undefined;
afterEach(async () => {
  if (sys) {
    await sys.assertInvariant();
    await sys.stop();
    sys = undefined;
  }
});

describe("workers under faults", () => {
  it("two workers on one consumer apply each event once", async () => {
    sys = await startSystem({ workers: 2 });
    const run = await runDeliveries(sys, 2000, 800);
    // Worker faults never reach the gateway: it refused nothing (the provider resends what a busy
    // machine kept the generator from sending in time).
    expect(refusals(run)).toEqual({});
    await retryUnacked(sys, run);
    expect(run.acked.size).toBe(2000);
    const report = await settleAndReport(sys, run, "two-workers");
    expect(report).toMatchObject({ acknowledged: 2000, applied: 2000, ledgerRows: 2000, deadLettered: 0, missing: [] });
    const [a, b] = [await scrapeSum(sys.workerMetricsUrl(0), "webhook_processed_total", 'outcome="applied"'), await scrapeSum(sys.workerMetricsUrl(1), "webhook_processed_total", 'outcome="applied"')];
    expect(a + b).toBe(2000);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    const dupes = (await scrapeSum(sys.workerMetricsUrl(0), "webhook_processed_total", 'outcome="duplicate"')) + (await scrapeSum(sys.workerMetricsUrl(1), "webhook_processed_total", 'outcome="duplicate"'));
    // Only a webhook resent after its answer timed out can arrive twice (then the ledger drops it).
    expect(dupes).toBeLessThanOrEqual(run.load.byStatus.timeout ?? 0);
  }, 120_000);

  it("SIGTERM to the worker under load loses nothing and double-counts nothing", async () => {
    sys = await startSystem({ workers: 1 });
    const s = sys;
    let stopped: Promise<unknown> | undefined;
    let exitCode: number | string | undefined;
    const run = await runDeliveries(s, 3000, 600, (elapsed) => {
      if (elapsed > 1500 && !stopped) {
        stopped = s.workers[0]!.stop("SIGTERM").then(async (code) => {
          exitCode = code;
          await s.startWorker();
        });
      }
    });
    await stopped;
    expect(exitCode).toBe(0); // graceful: it finished and acked what it held within its deadline
    // Worker faults never reach the gateway: it refused nothing (the provider resends what a busy
    // machine kept the generator from sending in time).
    expect(refusals(run)).toEqual({});
    await retryUnacked(s, run);
    expect(run.acked.size).toBe(3000);
    const report = await settleAndReport(s, run, "worker-sigterm");
    expect(report).toMatchObject({ acknowledged: 3000, applied: 3000, ledgerRows: 3000, deadLettered: 0, missing: [] });
  }, 120_000);

  it("kill -9 of the worker under load, then a restart, loses nothing and double-counts nothing", async () => {
    sys = await startSystem({ workers: 1, workerEnv: { WEBHOOK_ACK_WAIT_MS: "3000" } });
    const s = sys;
    let killed: Promise<unknown> | undefined;
    const run = await runDeliveries(s, 3000, 600, (elapsed) => {
      if (elapsed > 1500 && !killed) killed = s.workers[0]!.kill9().then(() => s.startWorker());
    });
    await killed;
    // Worker faults never reach the gateway: it refused nothing (the provider resends what a busy
    // machine kept the generator from sending in time).
    expect(refusals(run)).toEqual({});
    await retryUnacked(s, run);
    expect(run.acked.size).toBe(3000);
    const report = await settleAndReport(s, run, "worker-kill-9");
    expect(report).toMatchObject({ acknowledged: 3000, applied: 3000, ledgerRows: 3000, deadLettered: 0, missing: [] });
  }, 120_000);
});
