/**
 * The pipeline end to end, as real processes: gateway → JetStream → worker → PostgreSQL.
 * Each test file gets its own database, stream and consumer; the invariant is checked after
 * every test.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeEvents } from "@floodgate/provider-kit";
import { connectQueue, subjectFor } from "@floodgate/queue";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, scrapeSum, startSystem, type System } from "../harness/system.js";
import { waitFor } from "../harness/processes.js";
import { resendBody, telnyxBody, type ResendType } from "../webhooks.js";

let sys: System;

beforeAll(async () => {
  sys = await startSystem();
}, 120_000);
afterAll(async () => {
  await sys?.stop();
});
afterEach(async () => {
  await sys.assertInvariant();
});

async function insertRecipients(batch: string, provider: string, messageIds: string[]): Promise<void> {
  await sys.pool.query("INSERT INTO batches (id) VALUES ($1) ON CONFLICT DO NOTHING", [batch]);
  for (const id of messageIds) {
    await sys.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ($1, $2, $3, $4)", [`r-${id}`, batch, provider, id]);
  }
}

async function postTelnyx(body: string): Promise<Response> {
  return fetch(`${sys.gatewayUrl}/webhooks/telnyx`, { method: "POST", headers: sys.signer.telnyx(body), body });
}

async function postResend(body: string, id?: string): Promise<Response> {
  return fetch(`${sys.gatewayUrl}/webhooks/resend`, { method: "POST", headers: sys.signer.resend(body, id), body });
}

async function row(messageId: string) {
  const { rows } = await sys.pool.query("SELECT * FROM recipients WHERE provider_message_id = $1", [messageId]);
  return rows[0] as Record<string, unknown> | undefined;
}

async function batchRow(batch: string) {
  const { rows } = await sys.pool.query("SELECT * FROM batches WHERE id = $1", [batch]);
  return rows[0] as Record<string, number>;
}

async function ledgerCount(): Promise<number> {
  const { rows } = await sys.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events");
  return rows[0]!.n;
}

describe("gateway → JetStream → worker → PostgreSQL", () => {
  it("a signed Telnyx webhook changes the recipient's row and the batch counters", async () => {
    const batch = `b-${randomUUID()}`;
    const messageId = randomUUID();
    await insertRecipients(batch, "telnyx", [messageId]);
    expect(await batchRow(batch)).toMatchObject({ total_count: 1, queued_count: 1, delivered_count: 0 });

    const res = await postTelnyx(telnyxBody({ messageId, to: [{ phone: "+15555550100", status: "delivered" }] }));
    expect(res.status).toBe(202);
    await waitFor("row delivered", async () => (await row(messageId))?.status === "delivered", 15_000);
    expect(await row(messageId)).toMatchObject({ status: "delivered", address: "+15555550100" });
    expect(await batchRow(batch)).toMatchObject({ total_count: 1, queued_count: 0, delivered_count: 1 });
  });

  it("a signed Resend webhook changes the recipient's row, and a forged one is refused", async () => {
    const batch = `b-${randomUUID()}`;
    const emailId = randomUUID();
    await insertRecipients(batch, "resend", [emailId]);
    const body = resendBody({ emailId, type: "email.bounced", to: "nobody@example.com" });
    const forged = await fetch(`${sys.gatewayUrl}/webhooks/resend`, {
      method: "POST",
      headers: { ...sys.signer.resend(body), "svix-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
      body,
    });
    expect(forged.status).toBe(401);
    expect((await postResend(body)).status).toBe(202);
    await waitFor("row bounced", async () => (await row(emailId))?.status === "bounced", 15_000);
    expect(await row(emailId)).toMatchObject({ status: "bounced", error_message: "550 5.1.1 user unknown" });
    expect(await batchRow(batch)).toMatchObject({ bounced_count: 1, queued_count: 0 });
  });

  it("the same event delivered five times through the gateway and redelivered by the queue counts once", async () => {
    const batch = `b-${randomUUID()}`;
    const messageId = randomUUID();
    await insertRecipients(batch, "telnyx", [messageId]);
    const eventId = randomUUID();
    const body = telnyxBody({ eventId, messageId, to: [{ phone: "+15555550101", status: "delivered" }] });
    const before = await ledgerCount();

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await postTelnyx(body)).status);
    // With grouping (the default) every copy is stored and the ledger recognizes the retries;
    // JetStream's own dedup is tested with grouping off below.
    expect(statuses).toEqual([202, 202, 202, 202, 202]);

    // Redeliveries that JetStream cannot dedupe (other message ids): the ledger must.
    const conn = await connectQueue({ servers: sys.natsUrl, name: "test-redeliver" });
    try {
      const event = {
        provider: "telnyx",
        providerEventId: `${eventId}:+15555550101`,
        providerMessageId: messageId,
        recipient: "+15555550101",
        type: "message.finalized",
        status: "delivered" as const,
        rawStatus: "delivered",
        occurredAt: Date.now(),
        errorCode: null,
        errorMessage: null,
      };
      for (let i = 0; i < 4; i++) {
        await conn.js.publish(subjectFor(sys.queue.subjectPrefix, "telnyx", "message.finalized"), encodeEvents([event]), { msgID: `redeliver-${i}-${eventId}` });
      }
    } finally {
      await conn.close();
    }
    await waitFor("row delivered", async () => (await row(messageId))?.status === "delivered", 15_000);
    await waitFor("stream drained", async () => {
      return (await ledgerCount()) === before + 1 && (await scrapeSum(sys.workerMetricsUrl(0), "webhook_processed_total", 'outcome="duplicate"')) >= 8;
    }, 15_000);
    expect(await ledgerCount()).toBe(before + 1);
    expect(await batchRow(batch)).toMatchObject({ total_count: 1, delivered_count: 1, queued_count: 0 });
  });

  it("every arrival order of a recipient's events ends in the same row", async () => {
    const types: ResendType[] = ["email.sent", "email.delivery_delayed", "email.delivered", "email.opened"];
    const permutations = (xs: ResendType[]): ResendType[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    const orders = permutations(types); // 24
    const batch = `b-${randomUUID()}`;
    const emailIds = orders.map(() => randomUUID());
    await insertRecipients(batch, "resend", emailIds);
    const ledgerBefore = await ledgerCount();
    const base = Date.parse("2026-01-01T00:00:00Z");
    // Each type has a fixed occurrence time, so the rows can be compared field by field.
    const at = (t: ResendType) => new Date(base + types.indexOf(t) * 1000);
    await Promise.all(
      orders.map(async (order, i) => {
        for (const t of order) {
          const res = await postResend(resendBody({ emailId: emailIds[i]!, type: t, to: `u${i}@example.com`, occurredAt: at(t) }));
          expect(res.status).toBe(202);
        }
      }),
    );
    // Done when the ledger holds all 24 × 4 events (a timestamp alone could be set early, by an open).
    await waitFor("all events applied", async () => (await ledgerCount()) === ledgerBefore + orders.length * types.length, 20_000);
    const { rows } = await sys.pool.query(
      "SELECT status, sent_at, delayed_at, delivered_at, opened_at, error_code, error_message FROM recipients WHERE batch_id = $1",
      [batch],
    );
    const distinct = new Set(rows.map((r) => JSON.stringify(r)));
    expect(distinct.size).toBe(1);
    expect(rows[0]).toMatchObject({ status: "delivered" });
    expect(await batchRow(batch)).toMatchObject({ total_count: 24, delivered_count: 24, opened_count: 24, queued_count: 0, sent_count: 0, delayed_count: 0 });
  });

  it("a Telnyx group MMS (one message id, three numbers) is counted per recipient", async () => {
    // The provider plugin's own fixture, with fresh ids: one finalized webhook, three numbers in `to`.
    const fixture = JSON.parse(readFileSync(join(REPO_ROOT, "packages/providers/telnyx/fixtures/finalized-three-recipients.json"), "utf8")) as {
      body: { data: { id: string; payload: { id: string } } };
    };
    const messageId = randomUUID();
    fixture.body.data.id = randomUUID();
    fixture.body.data.payload.id = messageId;
    const batch = `b-${randomUUID()}`;
    await sys.pool.query("INSERT INTO batches (id) VALUES ($1)", [batch]);
    // The sending side inserts one row per number, in one statement; its spelling need not be E.164.
    await sys.pool.query(
      `INSERT INTO recipients (id, batch_id, provider, provider_message_id, address)
       SELECT $1 || '-' || i, $1, 'telnyx', $2, a FROM unnest($3::text[]) WITH ORDINALITY AS x(a, i)`,
      [batch, messageId, ["+15555550100", "+1 (555) 555-0101", "1-555-555-0102"]],
    );
    expect(await batchRow(batch)).toMatchObject({ total_count: 3, queued_count: 3 });

    expect((await postTelnyx(JSON.stringify(fixture.body))).status).toBe(202);
    const statuses = async () =>
      (await sys.pool.query<{ status: string }>("SELECT status FROM recipients WHERE batch_id = $1 ORDER BY id", [batch])).rows.map((r) => r.status);
    await waitFor("three statuses", async () => !(await statuses()).includes("queued"), 15_000);
    expect(await statuses()).toEqual(["delivered", "failed", "unknown"]);
    expect(await batchRow(batch)).toMatchObject({ total_count: 3, queued_count: 0, delivered_count: 1, failed_count: 1, unknown_count: 1 });

    // A number of the same message that is in none of its rows waits in parking instead.
    expect((await postTelnyx(telnyxBody({ messageId, to: [{ phone: "+15555550199", status: "delivered" }] }))).status).toBe(202);
    const parked = async () =>
      (await sys.pool.query("SELECT recipient FROM parked_events WHERE provider_message_id = $1", [messageId])).rows.map((r) => r.recipient as string);
    await waitFor("stranger parked", async () => (await parked()).length === 1, 15_000);
    expect(await parked()).toEqual(["+15555550199"]);
    expect(await batchRow(batch)).toMatchObject({ total_count: 3, delivered_count: 1, failed_count: 1, unknown_count: 1 });
  });

  it("an event for an unknown message id is parked and applied once the recipient is inserted", async () => {
    const batch = `b-${randomUUID()}`;
    const messageId = randomUUID();
    const res = await postTelnyx(telnyxBody({ messageId, to: [{ phone: "+15555550102", status: "delivered" }] }));
    expect(res.status).toBe(202);
    const parked = async () => (await sys.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM parked_events WHERE provider_message_id = $1", [messageId])).rows[0]!.n;
    await waitFor("event parked", async () => (await parked()) === 1, 15_000);
    await waitFor("parked gauge", async () => (await scrapeSum(sys.workerMetricsUrl(0), "webhook_parked_events")) >= 1, 10_000);

    await insertRecipients(batch, "telnyx", [messageId]);
    await waitFor("parked event applied", async () => (await row(messageId))?.status === "delivered", 15_000);
    expect(await parked()).toBe(0);
    expect(await batchRow(batch)).toMatchObject({ total_count: 1, delivered_count: 1, queued_count: 0 });
  });
});

describe("with GATEWAY_GROUPING=off", () => {
  it("JetStream's msg-id window answers provider retries as duplicates, and they count once", async () => {
    const single = await startSystem({ gatewayEnv: { GATEWAY_GROUPING: "off" } });
    try {
      const messageId = randomUUID();
      await single.pool.query("INSERT INTO batches (id) VALUES ('single')");
      await single.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('r-single', 'single', 'telnyx', $1)", [messageId]);
      const body = telnyxBody({ messageId, to: [{ phone: "+15555550103", status: "delivered" }] });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${single.gatewayUrl}/webhooks/telnyx`, { method: "POST", headers: single.signer.telnyx(body), body })).status);
      expect(statuses).toEqual([202, 200, 200, 200, 200]);
      const info = await single.queueConnection.jsm.streams.info(single.queue.stream);
      expect(info.state.last_seq).toBe(1); // stored once
      await waitFor("applied", async () => (await single.pool.query("SELECT status FROM recipients WHERE id = 'r-single'")).rows[0]?.status === "delivered", 15_000);
      expect((await single.pool.query("SELECT delivered_count FROM batches WHERE id = 'single'")).rows[0]).toEqual({ delivered_count: 1 });
      await single.assertInvariant();
    } finally {
      await single.stop();
    }
  }, 60_000);
});
