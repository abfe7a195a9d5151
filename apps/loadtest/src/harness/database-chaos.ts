/**
 * The database-fault scenarios shared by e2e/database-faults.int.test.ts and pgbouncer.int.test.ts
 * (the same chaos, the workers connected directly or through PgBouncer), and the fixture that
 * cleans up after them.
 */
import { createTestDatabase } from "@floodgate/db/testing";
import { guardClient } from "@floodgate/db";
import pg from "pg";
import { afterEach, expect } from "vitest";
import { startTestPgCluster, type TestPgCluster } from "./pg-cluster.js";
import { burnCpu, httpOk, waitFor } from "./processes.js";
import { refusals, retryUnacked, runDeliveries, settleAndReport } from "./scenario.js";
import { scrapeSum, startSystem, type System } from "./system.js";

/** What a fault test leaves for its cleanup: the system, things to undo, the chaos to stop. */
export interface FaultFixture {
  sys: System | undefined;
  cleanups: (() => Promise<unknown>)[];
  stopChaos: (() => Promise<void>) | undefined;
}

/**
 * Registers the cleanup after each test of the file: stops the chaos, checks the counter invariant
 * (even when the test failed), stops the system and undoes the rest, whatever the invariant said.
 */
export function faultFixture(): FaultFixture {
  const fx: FaultFixture = { sys: undefined, cleanups: [], stopChaos: undefined };
  afterEach(async () => {
    await fx.stopChaos?.();
    fx.stopChaos = undefined;
    try {
      if (fx.sys) await fx.sys.assertInvariant();
    } finally {
      await fx.sys?.stop();
      fx.sys = undefined;
      for (const c of fx.cleanups.splice(0).reverse()) await c();
    }
  });
  return fx;
}

/** Runs one statement on a connection of its own (the server may be going away under it). */
export async function admin(url: string, sql: string): Promise<void> {
  const client = guardClient(new pg.Client({ connectionString: url }));
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);
export const terminateWorkers = (datname: string) =>
  `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'floodgate-worker' AND datname = '${datname}'`;

/**
 * Under load, with a core kept busy, on a PostgreSQL of the test's own: worker backends
 * terminated every few hundred ms and the server stopped (fast or as a crash) for up to two
 * seconds now and then, for `rounds` rounds of 3,000 webhooks. Through PgBouncer, PgBouncer stays
 * up while the server goes away. The worker must stay up and apply every event exactly once.
 */
export async function databaseChaos(fx: FaultFixture, options: { rounds: number; pgbouncer?: boolean }): Promise<void> {
  fx.cleanups.push(burnCpu());
  const cluster: TestPgCluster = await startTestPgCluster();
  fx.cleanups.push(() => cluster.dispose());
  const database = await createTestDatabase(cluster.url());
  const s = (fx.sys = await startSystem({ database, pgbouncer: options.pgbouncer, workerEnv: { DB_BREAKER_HALF_OPEN_MS: "300", WEBHOOK_FLUSH_INTERVAL: "50" } }));
  const worker = s.workers[0]!;
  let terminations = 0;
  let stops = 0;
  for (let round = 0; round < options.rounds; round++) {
    // Faults at random moments once the load runs, so they land before, inside and after
    // transactions and between the queries of one: a backend terminated every few hundred ms,
    // the server stopped (fast or as a crash) for up to two seconds now and then.
    let chaos = false;
    const [terminationsBefore, stopsBefore] = [terminations, stops];
    let injecting: Promise<void> = Promise.resolve();
    const inject = async () => {
      while (chaos) {
        await sleep(between(50, 400));
        if (!chaos) break;
        try {
          if (Math.random() < 0.15) {
            await cluster.stop(Math.random() < 0.5 ? "fast" : "immediate");
            stops++;
            await sleep(between(200, 2000));
            await cluster.start();
          } else {
            await admin(cluster.url(), terminateWorkers(database.name));
            terminations++;
          }
        } catch {
          // a start racing a stop, or the server not up yet: the next round tries again
        }
      }
      await cluster.start().catch(() => undefined); // leave it running
    };
    fx.stopChaos = async () => {
      chaos = false;
      await injecting;
    };
    const run = await runDeliveries(s, 3000, 500, () => {
      if (chaos) return;
      chaos = true;
      injecting = inject();
    });
    // A busy machine can end the load before many faults landed: the chaos goes on (on the
    // backlog the worker is still applying) until this round has had its share of both kinds.
    await waitFor("7 terminations and a server stop this round", () => terminations - terminationsBefore >= 7 && stops > stopsBefore, 60_000);
    await fx.stopChaos();
    // The gateway never touches the database: it refused nothing. (What a busy machine kept the
    // generator from sending in time, the provider sends again.)
    expect(refusals(run)).toEqual({});
    await retryUnacked(s, run);
    expect(run.acked.size).toBe(3000);
    const report = await settleAndReport(s, run, `pg-chaos${options.pgbouncer ? "-pgbouncer" : ""}-round-${round}`);
    expect(report).toMatchObject({ acknowledged: 3000, applied: 3000, ledgerRows: 3000, deadLettered: 0, missing: [] });
    expect(worker.child.exitCode).toBeNull(); // never crashed: the same process all along
    expect(worker.child.signalCode).toBeNull();
  }
  console.log(`[fault:pg-chaos${options.pgbouncer ? "-pgbouncer" : ""}] rounds=${options.rounds} terminations=${terminations} server-stops=${stops}`);
  expect(terminations).toBeGreaterThanOrEqual(7 * options.rounds);
  expect(stops).toBeGreaterThan(0);
  expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_processed_total", 'outcome="dead_lettered"')).toBe(0);
  if (s.pgbouncer) {
    // PgBouncer answered for the missing server with errors of its own, and the worker held the
    // work through them (classified unavailable) instead of retrying or dead-lettering events.
    console.log(`[fault:pg-chaos-pgbouncer] pooler errors: ${JSON.stringify(Object.fromEntries(s.pgbouncer.poolerErrors))}`);
    expect(s.pgbouncer.poolerErrors.size).toBeGreaterThan(0);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_held_batches_total")).toBeGreaterThan(0);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_retries_total")).toBe(0);
  }
  await waitFor("worker ready again", () => httpOk(`${s.workerUrl(0)}/readyz`), 20_000);
}
