/**
 * Workers stopped (SIGTERM) and killed (SIGKILL) under load, and two workers sharing one
 * consumer: every webhook answered 2xx is applied exactly once.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { runOpenLoad, type OpenLoadResult } from "../open-load.js";
import { waitFor } from "../harness/processes.js";
import { scrapeSum, startSystem, type System } from "../harness/system.js";
import { telnyxBody } from "../webhooks.js";

let sys: System | undefined;
afterEach(async () => {
  if (sys) {
    await sys.assertInvariant();
    await sys.stop();
    sys = undefined;
  }
});

interface Run {
  load: OpenLoadResult;
  acked: Set<number>;
  messageIds: string[];
  batch: string;
}

/** Inserts `total` recipients, then sends one delivered webhook per recipient at `rate`/s. */
async function loadWith(s: System, total: number, rate: number, during?: (elapsedMs: number) => void): Promise<Run> {
  const batch = `b-${randomUUID()}`;
  const messageIds = Array.from({ length: total }, () => randomUUID());
  await s.pool.query("INSERT INTO batches (id) VALUES ($1)", [batch]);
  await s.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r-' || m, $1, 'telnyx', m FROM unnest($2::text[]) AS m", [batch, messageIds]);
  const acked = new Set<number>();
  const load = await runOpenLoad({
    target: s.gatewayUrl,
    rate,
    total,
    makeRequest(i) {
      const body = telnyxBody({ messageId: messageIds[i]!, to: [{ phone: `+1555${String(i).padStart(7, "0")}`, status: "delivered" }] });
      return { path: "/webhooks/telnyx", headers: s.signer.telnyx(body), body: Buffer.from(body) };
    },
    onResponse(i, status) {
      if (status >= 200 && status < 300) acked.add(i);
    },
    onProgress: (p) => during?.(p.elapsedMs),
  });
  return { load, acked, messageIds, batch };
}

/** Waits until every acknowledged webhook is applied, then checks nothing is missing or doubled. */
async function expectExactlyOnce(s: System, run: Run): Promise<void> {
  const deliveredIds = async () =>
    new Set((await s.pool.query<{ id: string }>("SELECT provider_message_id AS id FROM recipients WHERE batch_id = $1 AND status = 'delivered'", [run.batch])).rows.map((r) => r.id));
  await waitFor("every acknowledged webhook applied", async () => (await deliveredIds()).size >= run.acked.size, 60_000, 250);
  const delivered = await deliveredIds();
  const missing = [...run.acked].filter((i) => !delivered.has(run.messageIds[i]!));
  expect(missing).toEqual([]);
  // Each system has a database of its own and each recipient got exactly one event, so the
  // ledger must hold exactly one row per delivered recipient.
  const { rows } = await s.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events");
  expect(rows[0]!.n).toBe(delivered.size);
  const batch = (await s.pool.query("SELECT delivered_count, queued_count, total_count FROM batches WHERE id = $1", [run.batch])).rows[0];
  expect(batch).toEqual({ delivered_count: delivered.size, queued_count: run.messageIds.length - delivered.size, total_count: run.messageIds.length });
}

describe("workers under faults", () => {
  it("two workers on one consumer apply each event once", async () => {
    sys = await startSystem({ workers: 2 });
    const run = await loadWith(sys, 2000, 800);
    expect(run.load.ok).toBe(2000);
    await expectExactlyOnce(sys, run);
    const [a, b] = [await scrapeSum(sys.workerMetricsUrl(0), "webhook_processed_total", 'outcome="applied"'), await scrapeSum(sys.workerMetricsUrl(1), "webhook_processed_total", 'outcome="applied"')];
    expect(a + b).toBe(2000);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    const dupes = (await scrapeSum(sys.workerMetricsUrl(0), "webhook_processed_total", 'outcome="duplicate"')) + (await scrapeSum(sys.workerMetricsUrl(1), "webhook_processed_total", 'outcome="duplicate"'));
    expect(dupes).toBe(0);
  }, 120_000);

  it("SIGTERM to the worker under load loses nothing and double-counts nothing", async () => {
    sys = await startSystem({ workers: 1, workerEnv: { WEBHOOK_ACK_WAIT_MS: "5000" } });
    const s = sys;
    let stopped: Promise<unknown> | undefined;
    const run = await loadWith(s, 3000, 600, (elapsed) => {
      if (elapsed > 1500 && !stopped) {
        stopped = s.workers[0]!.stop("SIGTERM").then(async (code) => {
          expect(code).toBe(0); // graceful: finished and acked within its deadline
          await s.startWorker();
        });
      }
    });
    await stopped;
    expect(run.load.ok).toBe(3000);
    await expectExactlyOnce(s, run);
  }, 120_000);

  it("kill -9 of the worker under load, then a restart, loses nothing and double-counts nothing", async () => {
    sys = await startSystem({ workers: 1, workerEnv: { WEBHOOK_ACK_WAIT_MS: "3000" } });
    const s = sys;
    let killed: Promise<unknown> | undefined;
    const run = await loadWith(s, 3000, 600, (elapsed) => {
      if (elapsed > 1500 && !killed) {
        killed = s.workers[0]!.kill9().then(() => s.startWorker());
      }
    });
    await killed;
    expect(run.load.ok).toBe(3000);
    await expectExactlyOnce(s, run);
  }, 120_000);
});
