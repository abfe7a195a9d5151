/**
 * The database failing the way production databases fail, under load and with a core kept busy:
 * connections terminated and the server stopped at arbitrary points of the apply cycle, a failover
 * to a read-only node, permissions revoked. The worker must never crash, never dead-letter an event
 * for the database's fault, and apply every acknowledged webhook exactly once.
 */
import { randomBytes } from "node:crypto";
import { createTestDatabase } from "@floodgate/db/testing";
import { guardClient } from "@floodgate/db";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { startTestPgCluster, type TestPgCluster } from "../harness/pg-cluster.js";
import { burnCpu, httpOk, waitFor } from "../harness/processes.js";
import { refusals, retryUnacked, runDeliveries, settleAndReport } from "../harness/scenario.js";
import { scrapeSum, startSystem, type System } from "../harness/system.js";

let sys: System | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
let stopChaos: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopChaos?.();
  stopChaos = undefined;
  try {
    // The invariant is checked even when the test failed, but cleaning up never depends on it.
    if (sys) await sys.assertInvariant();
  } finally {
    await sys?.stop();
    sys = undefined;
    for (const c of cleanups.splice(0).reverse()) await c();
  }
});

/** Runs one statement on a connection of its own (the server may be going away under it). */
async function admin(url: string, sql: string): Promise<void> {
  const client = guardClient(new pg.Client({ connectionString: url }));
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);
const terminateWorkers = (datname: string) =>
  `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'floodgate-worker' AND datname = '${datname}'`;

describe("database faults under load", () => {
  it("connections terminated and the server stopped at many points of the apply cycle: the worker stays up, every event applies exactly once", async () => {
    cleanups.push(burnCpu());
    const cluster: TestPgCluster = await startTestPgCluster();
    cleanups.push(() => cluster.dispose());
    const database = await createTestDatabase(cluster.url());
    sys = await startSystem({ database, workerEnv: { DB_BREAKER_HALF_OPEN_MS: "300", WEBHOOK_FLUSH_INTERVAL: "50" } });
    const s = sys;
    const worker = s.workers[0]!;
    let terminations = 0;
    let stops = 0;
    for (let round = 0; round < 3; round++) {
      // Faults at random moments once the load runs, so they land before, inside and after
      // transactions and between the queries of one: a backend terminated every few hundred ms,
      // the server stopped (fast or as a crash) for up to two seconds now and then.
      let chaos = false;
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
      stopChaos = async () => {
        chaos = false;
        await injecting;
      };
      const run = await runDeliveries(s, 3000, 500, () => {
        if (chaos) return;
        chaos = true;
        injecting = inject();
      });
      await stopChaos();
      // The gateway never touches the database: it refused nothing. (What a busy machine kept the
      // generator from sending in time, the provider sends again.)
      expect(refusals(run)).toEqual({});
      await retryUnacked(s, run);
      expect(run.acked.size).toBe(3000);
      const report = await settleAndReport(s, run, `pg-chaos-round-${round}`);
      expect(report).toMatchObject({ acknowledged: 3000, applied: 3000, ledgerRows: 3000, deadLettered: 0, missing: [] });
      expect(worker.child.exitCode).toBeNull(); // never crashed: the same process all along
      expect(worker.child.signalCode).toBeNull();
    }
    console.log(`[fault:pg-chaos] rounds=3 terminations=${terminations} server-stops=${stops}`);
    expect(terminations).toBeGreaterThan(20);
    expect(stops).toBeGreaterThan(0);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_processed_total", 'outcome="dead_lettered"')).toBe(0);
    await waitFor("worker ready again", () => httpOk(`${s.workerUrl(0)}/readyz`), 20_000);
  }, 300_000);

  it("the database turned read-only for 10 s (a failover to a replica): nothing is dead-lettered, everything applies exactly once", async () => {
    cleanups.push(burnCpu());
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    sys = await startSystem({ database, workerEnv: { DB_BREAKER_HALF_OPEN_MS: "500" } });
    const s = sys;
    const serverUrl = database.url.replace(/\/[^/]*$/, "/postgres");
    let outage: Promise<void> | undefined;
    const run = await runDeliveries(s, 4000, 400, (elapsed) => {
      if (elapsed > 2000 && !outage) {
        outage = (async () => {
          await admin(serverUrl, `ALTER DATABASE "${database.name}" SET default_transaction_read_only = on`);
          await admin(serverUrl, terminateWorkers(database.name));
          await sleep(10_000);
          await admin(serverUrl, `ALTER DATABASE "${database.name}" RESET default_transaction_read_only`);
        })();
      }
    });
    await outage;
    expect(refusals(run)).toEqual({});
    await retryUnacked(s, run);
    expect(run.acked.size).toBe(4000);
    const report = await settleAndReport(s, run, "read-only-10s");
    expect(report).toMatchObject({ acknowledged: 4000, applied: 4000, ledgerRows: 4000, deadLettered: 0, missing: [] });
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_held_batches_total")).toBeGreaterThan(0);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_retries_total")).toBe(0);
  }, 180_000);

  it("the worker's role losing UPDATE on recipients for 10 s: nothing is dead-lettered, everything applies exactly once", async () => {
    cleanups.push(burnCpu());
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const role = `fg_worker_${randomBytes(4).toString("hex")}`;
    await admin(database.url, `CREATE ROLE ${role} LOGIN`);
    cleanups.push(() => admin(database.url.replace(/\/[^/]*$/, "/postgres"), `DROP ROLE IF EXISTS ${role}`));
    await admin(database.url, `GRANT CONNECT ON DATABASE "${database.name}" TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    const asRole = new URL(database.url);
    asRole.username = role;
    sys = await startSystem({ database, workerEnv: { DATABASE_URL: asRole.toString(), DB_BREAKER_HALF_OPEN_MS: "500" } });
    const s = sys;
    let outage: Promise<void> | undefined;
    const run = await runDeliveries(s, 4000, 400, (elapsed) => {
      if (elapsed > 2000 && !outage) {
        outage = (async () => {
          await admin(database.url, `REVOKE UPDATE ON recipients FROM ${role}`);
          await sleep(10_000);
          await admin(database.url, `GRANT UPDATE ON recipients TO ${role}`);
        })();
      }
    });
    await outage;
    expect(refusals(run)).toEqual({});
    await retryUnacked(s, run);
    expect(run.acked.size).toBe(4000);
    const report = await settleAndReport(s, run, "permission-revoked-10s");
    expect(report).toMatchObject({ acknowledged: 4000, applied: 4000, ledgerRows: 4000, deadLettered: 0, missing: [] });
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_held_batches_total")).toBeGreaterThan(0);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_retries_total")).toBe(0);
    await admin(database.url, `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}; REVOKE ALL ON SCHEMA public FROM ${role}; REVOKE ALL ON DATABASE "${database.name}" FROM ${role}`);
  }, 180_000);
});
