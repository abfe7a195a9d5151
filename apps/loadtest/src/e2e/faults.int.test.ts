/**
 * Fault injection under load, with services of the test's own so the shared ones are never
 * touched: PostgreSQL stopped for 10 s, nats-server killed and restarted, a poison event in a
 * batch. Each ends with the counter invariant and an exact count of applied events.
 */
import { createTestDatabase } from "@floodgate/db/testing";
import { encodeEvents } from "@floodgate/provider-kit";
import { subjectFor } from "@floodgate/queue";
import { startNatsServer } from "@floodgate/queue/testing";
import { afterEach, describe, expect, it } from "vitest";
import { startTestPgCluster, type TestPgCluster } from "../harness/pg-cluster.js";
import { httpOk, waitFor } from "../harness/processes.js";
import { refusals, runDeliveries, retryUnacked, settleAndReport } from "../harness/scenario.js";
import { scrapeSum, startSystem, type System } from "../harness/system.js";
import { resendBody } from "../webhooks.js";

let sys: System | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  if (sys) {
    await sys.assertInvariant();
    await sys.stop();
    sys = undefined;
  }
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("fault injection", () => {
  it("PostgreSQL stopped for 10 s: webhooks stay queued, nothing is dead-lettered, all apply exactly once", async () => {
    const cluster: TestPgCluster = await startTestPgCluster();
    cleanups.push(() => cluster.dispose());
    const database = await createTestDatabase(cluster.url());
    sys = await startSystem({ database, workerEnv: { DB_BREAKER_HALF_OPEN_MS: "1000" } });
    const s = sys;
    let outage: Promise<void> | undefined;
    const run = await runDeliveries(s, 4000, 400, (elapsed) => {
      if (elapsed > 2000 && !outage) {
        outage = (async () => {
          await cluster.stop("fast");
          await waitFor("worker sees the database gone", async () => !(await httpOk(`${s.workerUrl(0)}/readyz`)), 10_000, 200);
          await new Promise((r) => setTimeout(r, 10_000));
          await cluster.start();
        })();
      }
    });
    await outage;
    // The gateway never touches the database: it refused nothing during the outage. (What a busy
    // machine kept the generator from sending in time, the provider sends again.)
    expect(refusals(run)).toEqual({});
    await retryUnacked(s, run);
    expect(run.acked.size).toBe(4000);
    const report = await settleAndReport(s, run, "postgres-down-10s");
    expect(report).toMatchObject({ acknowledged: 4000, applied: 4000, ledgerRows: 4000, deadLettered: 0, missing: [] });
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_held_batches_total")).toBeGreaterThan(0);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_processed_total", 'outcome="dead_lettered"')).toBe(0);
    await waitFor("breaker closed again", () => httpOk(`${s.workerUrl(0)}/readyz`), 15_000);
  }, 180_000);

  it("nats-server killed and restarted: the gateway answers 503 meanwhile, nothing acknowledged is lost", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    sys = await startSystem({ natsUrl: nats.url });
    const s = sys;
    let outage: Promise<void> | undefined;
    const run = await runDeliveries(s, 3000, 300, (elapsed) => {
      if (elapsed > 2000 && !outage) {
        outage = (async () => {
          await nats.kill();
          await new Promise((r) => setTimeout(r, 4000));
          await nats.restart();
        })();
      }
    });
    await outage;
    const unavailable = run.load.byStatus["503"] ?? 0;
    expect(unavailable).toBeGreaterThan(0); // refused, never 2xx, while NATS was down
    expect(run.load.latency.max).toBeLessThan(5000); // nothing hung past the publish deadline
    expect(Object.keys(run.load.byStatus).filter((k) => !["202", "200", "503"].includes(k))).toEqual([]);
    const acknowledgedDuringRun = run.acked.size;
    // The provider retries what was refused; afterwards every webhook is in.
    await retryUnacked(s, run);
    expect(run.acked.size).toBe(3000);
    const report = await settleAndReport(s, run, "nats-restart");
    expect(report).toMatchObject({ acknowledged: 3000, applied: 3000, ledgerRows: 3000, deadLettered: 0, missing: [] });
    console.log(`[fault:nats-restart] acknowledged before retries=${acknowledgedDuringRun} refused with 503=${unavailable}`);
  }, 180_000);

  it("a poison event in a batch: the others apply, it is retried and then dead-lettered with its reason", async () => {
    sys = await startSystem({ workerEnv: { WEBHOOK_RETRY_ATTEMPTS: "2", WEBHOOK_RETRY_BASE_MS: "100", WEBHOOK_RETRY_MAX_MS: "400", WEBHOOK_FLUSH_INTERVAL: "300" } });
    const s = sys;
    const { rows } = await s.pool.query<{ id: string }>("INSERT INTO batches (id) VALUES ('poison-batch') RETURNING id");
    expect(rows).toHaveLength(1);
    const emailIds = Array.from({ length: 60 }, (_, i) => `email-${i}`);
    await s.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r-' || m, 'poison-batch', 'resend', m FROM unnest($1::text[]) AS m", [emailIds]);
    // Through the gateway: 50 bounces, one of them with a NUL in its message. PostgreSQL text
    // cannot hold NUL, but the gateway's normalization replaced it: no longer a poison.
    const send = (i: number) => {
      let body = resendBody({ emailId: emailIds[i]!, type: "email.bounced", to: `u${i}@example.com` });
      if (i === 17) body = body.replace("550 5.1.1 user unknown", "550 5.1.1 user\\u0000unknown");
      return fetch(`${s.gatewayUrl}/webhooks/resend`, { method: "POST", headers: s.signer.resend(body), body });
    };
    // Below normalization (published straight to the stream, as a grouped message of ten), the
    // NUL is still a value the database refuses: email-55 is the poison of its group and batch.
    const group = emailIds.slice(50).map((m, k) => ({
      provider: "resend",
      providerEventId: `msg_direct_${m}`,
      providerMessageId: m,
      recipient: `u${50 + k}@example.com`,
      type: "email.bounced",
      status: "bounced" as const,
      rawStatus: "email.bounced",
      occurredAt: Date.now(),
      errorCode: "Permanent/General",
      errorMessage: m === "email-55" ? "550 5.1.1 user\u0000unknown" : "550 5.1.1 user unknown",
    }));
    const [statuses] = await Promise.all([
      Promise.all(emailIds.slice(0, 50).map((_, i) => send(i).then((r) => r.status))),
      s.queueConnection.js.publish(subjectFor(s.queue.subjectPrefix, "resend", "email.bounced"), encodeEvents(group), { msgID: "poison-group" }),
    ]);
    expect(statuses.every((st) => st === 202)).toBe(true);

    await waitFor("poison dead-lettered", async () => (await s.deadLetterCount()) === 1, 30_000, 200);
    await waitFor("the others applied", async () => {
      const bounced = await s.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM recipients WHERE batch_id = 'poison-batch' AND status = 'bounced'");
      return bounced.rows[0]!.n === 59;
    }, 15_000, 200);
    expect((await s.pool.query("SELECT status FROM recipients WHERE provider_message_id = 'email-55'")).rows[0]).toEqual({ status: "queued" });
    expect((await s.pool.query("SELECT status, error_message FROM recipients WHERE provider_message_id = 'email-17'")).rows[0]).toEqual({
      status: "bounced",
      error_message: "550 5.1.1 user\uFFFDunknown",
    });
    const letters = await (await fetch(`${s.workerUrl(0)}/admin/dead-letters`)).status;
    expect(letters).toBe(503); // admin API is off without ADMIN_TOKEN
    console.log(`[fault:poison] webhooks=50 acknowledged=50 published-below-the-gateway=10 applied=59 dead-lettered=${await s.deadLetterCount()}`);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_retries_total")).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
