/**
 * Events whose recipient is never inserted do not wait forever: the worker expires parked events
 * after PARKED_RETENTION_HOURS, counts them by provider and logs it, and leaves younger ones be.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { scrape, startSystem, type System } from "../harness/system.js";

let sys: System;

beforeAll(async () => {
  sys = await startSystem({ workerEnv: { PARKED_RETENTION_HOURS: "1", PARKED_EXPIRY_INTERVAL_MS: "1000" } });
}, 60_000);
afterAll(async () => {
  await sys?.stop();
});

const park = (id: string, provider: string, parkedAt: string) =>
  sys.pool.query(
    `INSERT INTO parked_events (provider, provider_event_id, provider_message_id, recipient, type, status, raw_status, occurred_at, parked_at)
     VALUES ($1, $2, $2, '', 't', 'delivered', 'delivered', now(), $3::timestamptz)`,
    [provider, id, parkedAt],
  );

describe("parked events", () => {
  it("expire after the retention, counted by provider and logged; younger ones stay", async () => {
    await park("old-1", "telnyx", new Date(Date.now() - 2 * 3_600_000).toISOString());
    await park("old-2", "telnyx", new Date(Date.now() - 3 * 3_600_000).toISOString());
    await park("old-3", "resend", new Date(Date.now() - 5 * 3_600_000).toISOString());
    await park("young", "telnyx", new Date(Date.now() - 10 * 60_000).toISOString());
    await waitFor("old parked events expired", async () => (await sys.pool.query("SELECT count(*)::int AS n FROM parked_events")).rows[0].n === 1, 20_000, 200);
    expect((await sys.pool.query("SELECT provider_event_id FROM parked_events")).rows).toEqual([{ provider_event_id: "young" }]);
    const expired = await scrape(sys.workerMetricsUrl(0), "webhook_parked_expired_total");
    expect(expired.get('{provider="telnyx"}')).toBe(2);
    expect(expired.get('{provider="resend"}')).toBe(1);
    expect(sys.workers[0]!.output()).toContain("parked events expired: their recipient was never inserted");
  });
});
