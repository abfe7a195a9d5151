/**
 * The database failing the way production databases fail, under load and with a core kept busy:
 * connections terminated and the server stopped at arbitrary points of the apply cycle, a failover
 * to a read-only node, permissions revoked. The worker must never crash, never dead-letter an event
 * for the database's fault, and apply every acknowledged webhook exactly once.
 */
import { randomBytes } from "node:crypto";
import { createTestDatabase } from "@floodgate/db/testing";
import { describe, expect, it } from "vitest";
import { burnCpu } from "../harness/processes.js";
import { refusals, retryUnacked, runDeliveries, settleAndReport } from "../harness/scenario.js";
import { scrapeSum, startSystem } from "../harness/system.js";
import { admin, databaseChaos, faultFixture, sleep, terminateWorkers } from "../harness/database-chaos.js";

const fx = faultFixture();

describe("database faults under load", () => {
  it("connections terminated and the server stopped at many points of the apply cycle: the worker stays up, every event applies exactly once", async () => {
    await databaseChaos(fx, { rounds: 3 });
  }, 300_000);

  it("the database turned read-only for 10 s (a failover to a replica): nothing is dead-lettered, everything applies exactly once", async () => {
    fx.cleanups.push(burnCpu());
    const database = await createTestDatabase();
    fx.cleanups.push(() => database.drop());
    const s = (fx.sys = await startSystem({ database, workerEnv: { DB_BREAKER_HALF_OPEN_MS: "500" } }));
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
    fx.cleanups.push(burnCpu());
    const database = await createTestDatabase();
    fx.cleanups.push(() => database.drop());
    const role = `fg_worker_${randomBytes(4).toString("hex")}`;
    await admin(database.url, `CREATE ROLE ${role} LOGIN`);
    fx.cleanups.push(() => admin(database.url.replace(/\/[^/]*$/, "/postgres"), `DROP ROLE IF EXISTS ${role}`));
    await admin(database.url, `GRANT CONNECT ON DATABASE "${database.name}" TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    const asRole = new URL(database.url);
    asRole.username = role;
    const s = (fx.sys = await startSystem({ database, workerEnv: { DATABASE_URL: asRole.toString(), DB_BREAKER_HALF_OPEN_MS: "500" } }));
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
