/**
 * The pipeline end to end, as real processes: gateway → JetStream → worker → PostgreSQL.
 * Each test file gets its own database, stream and consumer; the invariant is checked after
 * every test. Run by pipeline.int.test.ts, and through PgBouncer by pgbouncer.int.test.ts.
 */
import { randomUUID } from "node:crypto";
import { encodeEvents } from "@floodgate/provider-kit";
import { connectQueue, subjectFor } from "@floodgate/queue";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, scrapeSum, startSystem as startBareSystem, type System, type SystemOptions } from "../harness/system.js";
import { waitFor } from "../harness/processes.js";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  extraGatewayEnv,
  generateSigningSecrets,
  PROVIDER_PROFILES,
  PROVIDERS,
  resendBody,
  signedRequest,
  SNS_FETCH_STUB,
  telnyxBody,
  type ExtraProvider,
  type ProviderName,
  type ResendType,
} from "../webhooks.js";

/**
 * The pipeline tests, run by pipeline.int.test.ts as they are and by pgbouncer.int.test.ts with
 * the workers going through PgBouncer: `options` is added to every system the suite starts.
 */
export function pipelineSuite(options: Pick<SystemOptions, "pgbouncer"> = {}): void {
  const startSystem = (more: SystemOptions = {}) => startBareSystem({ ...more, ...options });
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
      // The gauge is read every 15 s (a count over parked_events).
      await waitFor("parked gauge", async () => (await scrapeSum(sys.workerMetricsUrl(0), "webhook_parked_events")) >= 1, 25_000, 250);

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

  describe("every provider", () => {
    let all: System;
    const confirmations = join(mkdtempSync(join(tmpdir(), "fg-sns-")), "confirmed.txt");
    const secrets = generateSigningSecrets();
    beforeAll(async () => {
      all = await startSystem({
        secrets,
        gatewayEnv: { ...extraGatewayEnv(secrets), FLOODGATE_TEST_SNS_CONFIRMATIONS: confirmations },
        gatewayNodeFlags: ["--import", SNS_FETCH_STUB],
      });
    }, 120_000);
    afterAll(async () => {
      await all?.stop();
    });

    it("serves all eleven providers: an unsigned POST to each is refused, not unknown", async () => {
      for (const provider of PROVIDERS) {
        const res = await fetch(`${all.gatewayUrl}/webhooks/${provider}`, { method: "POST", body: "" });
        expect(res.status, provider).toBeGreaterThanOrEqual(400);
        expect(res.status, provider).not.toBe(404);
      }
      expect((await fetch(`${all.gatewayUrl}/webhooks/acme`, { method: "POST", body: "{}" })).status).toBe(404);
    });

    it("signed webhooks of every provider, shuffled and duplicated, end up exactly once with the counters right", async () => {
      const batch = `all-${randomUUID()}`;
      await all.pool.query("INSERT INTO batches (id) VALUES ($1)", [batch]);
      const requests: { provider: ProviderName; body: string; deliveryId?: string; eventIds: string[] }[] = [];
      const expected = new Map<string, { provider: ProviderName; status: string }>();
      const eventIds = new Map<ProviderName, Set<string>>();
      const add = (provider: ProviderName, body: string, ids: string[], deliveryId?: string) => {
        requests.push({ provider, body, eventIds: ids, ...(deliveryId ? { deliveryId } : {}) });
        const set = eventIds.get(provider) ?? new Set<string>();
        for (const id of ids) set.add(id);
        eventIds.set(provider, set);
      };
      const base = Date.now() - 60_000;
      let k = 0;
      for (const provider of PROVIDERS) {
        for (let m = 0; m < 6; m++) {
          const messageId = provider === "twilio" ? `SM${randomUUID().replace(/-/g, "")}` : randomUUID();
          const failed = m % 3 === 2;
          const email = provider === "resend" || (provider !== "telnyx" && PROVIDER_PROFILES[provider as ExtraProvider].channel === "email");
          const to = email ? `u${k++}@example.com` : `+1555${String(k++).padStart(7, "0")}`;
          await all.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ($1, $2, $3, $4)", [`r-${messageId}`, batch, provider, messageId]);
          const when = (step: number) => new Date(base + step * 1000);
          if (provider === "telnyx") {
            for (const [step, status] of (["sent", failed ? "delivery_failed" : "delivered"] as const).entries()) {
              const eventId = randomUUID();
              add(provider, telnyxBody({ eventId, messageId, to: [{ phone: to, status }], occurredAt: when(step) }), [`${eventId}:${to}`]);
            }
            expected.set(messageId, { provider, status: failed ? "failed" : "delivered" });
          } else if (provider === "resend") {
            const types: ResendType[] = ["email.sent", failed ? "email.bounced" : "email.delivered", ...(failed ? [] : (["email.opened"] as const))];
            for (const [step, type] of types.entries()) {
              const id = `msg_${randomUUID().replace(/-/g, "")}`;
              add(provider, resendBody({ emailId: messageId, type, to, occurredAt: when(step) }), [id], id);
            }
            expected.set(messageId, { provider, status: failed ? "bounced" : "delivered" });
          } else {
            const profile = PROVIDER_PROFILES[provider as ExtraProvider];
            const steps = [profile.steps.sent, failed ? profile.steps.failed : profile.steps.delivered, failed ? undefined : profile.steps.opened].filter((s): s is string => s !== undefined);
            for (const [step, status] of steps.entries()) {
              const built = profile.build({ messageId, to, status, occurredAt: when(step) });
              add(provider, built.body, built.eventIds);
            }
            expected.set(messageId, { provider, status: profile.final[failed ? "failed" : "delivered"] });
          }
        }
      }
      // Batching providers also send one POST of several events of new messages.
      for (const provider of ["sendgrid", "bandwidth"] as const) {
        const profile = PROVIDER_PROFILES[provider];
        const inputs = Array.from({ length: 5 }, (_, i) => ({ messageId: randomUUID(), to: provider === "sendgrid" ? `b${i}-${randomUUID()}@example.com` : `+1666${String(i).padStart(7, "0")}`, status: profile.steps.delivered as string }));
        for (const input of inputs) {
          await all.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ($1, $2, $3, $4)", [`r-${input.messageId}`, batch, provider, input.messageId]);
          expected.set(input.messageId, { provider, status: "delivered" });
        }
        const built = profile.buildBatch!(inputs);
        add(provider, built.body, built.eventIds);
      }
      // A third of the deliveries again (a provider retry: same events, fresh signature), then shuffled.
      const sends = [...requests, ...requests.filter((_, i) => i % 3 === 0)];
      for (let i = sends.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [sends[i], sends[j]] = [sends[j]!, sends[i]!];
      }
      const statuses: number[] = [];
      const before = await ledgerCountOf(all);
      for (let i = 0; i < sends.length; i += 16) {
        await Promise.all(
          sends.slice(i, i + 16).map(async (r) => {
            const signed = signedRequest(all.signer, r.provider, r.body, { deliveryId: r.deliveryId });
            const res = await fetch(`${all.gatewayUrl}${signed.path}`, { method: "POST", headers: signed.headers, body: signed.body });
            statuses.push(res.status);
            if (res.status >= 300) throw new Error(`${r.provider}: ${res.status} ${await res.text()}`);
          }),
        );
      }
      expect(statuses.every((s) => s === 200 || s === 202)).toBe(true);
      const distinct = [...eventIds.values()].reduce((n, s) => n + s.size, 0);
      await waitFor("every event applied once", async () => (await ledgerCountOf(all)) === before + distinct, 60_000);
      for (const [provider, ids] of eventIds) {
        const { rows } = await all.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events WHERE provider = $1 AND provider_event_id = ANY($2::text[])", [provider, [...ids]]);
        expect(rows[0]!.n, provider).toBe(ids.size);
      }
      const { rows } = await all.pool.query<{ m: string; status: string }>("SELECT provider_message_id AS m, status FROM recipients WHERE batch_id = $1", [batch]);
      const wrong = rows.filter((r) => expected.get(r.m)?.status !== r.status).map((r) => `${expected.get(r.m)?.provider}: ${r.status} ≠ ${expected.get(r.m)?.status}`);
      expect(wrong).toEqual([]);
      const counts = (await all.pool.query("SELECT * FROM batches WHERE id = $1", [batch])).rows[0] as Record<string, number>;
      const want = (s: string) => [...expected.values()].filter((e) => e.status === s).length;
      expect(counts).toMatchObject({ total_count: expected.size, queued_count: 0, delivered_count: want("delivered"), failed_count: want("failed"), bounced_count: want("bounced") });
      await waitFor("no more events arriving", async () => (await ledgerCountOf(all)) === before + distinct, 2000);
      expect(await ledgerCountOf(all)).toBe(before + distinct);
      await all.assertInvariant();
    }, 180_000);

    it("an SNS subscription for an allowed topic is confirmed once verified; an unsubscription is noted", async () => {
      const confirmation = {
        Type: "SubscriptionConfirmation",
        MessageId: randomUUID(),
        Token: "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92",
        TopicArn: "",
        Message: "You have chosen to subscribe to the topic.",
        SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${secrets.SES_SNS_TOPIC_ARNS}&Token=${randomUUID()}`,
        Timestamp: "",
      };
      const signed = signedRequest(all.signer, "ses", JSON.stringify(confirmation));
      const res = await fetch(`${all.gatewayUrl}${signed.path}`, { method: "POST", headers: signed.headers, body: signed.body });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ outcome: "handshake" });
      expect(readFileSync(confirmations, "utf8")).toContain(confirmation.SubscribeURL);
      const bye = signedRequest(all.signer, "ses", JSON.stringify({ ...confirmation, Type: "UnsubscribeConfirmation", MessageId: randomUUID() }));
      expect((await fetch(`${all.gatewayUrl}${bye.path}`, { method: "POST", headers: bye.headers, body: bye.body })).status).toBe(200);
      expect(readFileSync(confirmations, "utf8").trim().split("\n")).toHaveLength(1);
    });

    it("a SendGrid POST with an item it cannot map applies the others and keeps that one in the dead letters", async () => {
      const messageId = randomUUID();
      await all.pool.query("INSERT INTO batches (id) VALUES ('sg-unmapped') ON CONFLICT DO NOTHING");
      await all.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ($1, 'sg-unmapped', 'sendgrid', $2)", [`r-${messageId}`, messageId]);
      const good = PROVIDER_PROFILES.sendgrid.buildBatch!([{ messageId, to: "sg@example.com", status: "delivered" }]);
      const items = [...(JSON.parse(good.body) as unknown[]), { email: "sg@example.com", timestamp: Math.floor(Date.now() / 1000), event: "teleported", sg_event_id: randomUUID(), sg_message_id: `${messageId}.x` }];
      const before = await all.deadLetterCount();
      const signed = signedRequest(all.signer, "sendgrid", `${JSON.stringify(items)}\r\n`);
      const res = await fetch(`${all.gatewayUrl}${signed.path}`, { method: "POST", headers: signed.headers, body: signed.body });
      expect(res.status).toBe(202);
      await waitFor("the mapped event applied", async () => (await all.pool.query("SELECT status FROM recipients WHERE provider_message_id = $1", [messageId])).rows[0]?.status === "delivered", 15_000);
      expect(await all.deadLetterCount()).toBe(before + 1);
    });

    it("Postmark and Mailgun are answered 200, the others 202", async () => {
      for (const provider of ["postmark", "mailgun", "twilio"] as const) {
        const profile = PROVIDER_PROFILES[provider];
        const built = profile.build({ messageId: randomUUID(), to: "x@example.com", status: profile.steps.delivered as string });
        const signed = signedRequest(all.signer, provider, built.body);
        const res = await fetch(`${all.gatewayUrl}${signed.path}`, { method: "POST", headers: signed.headers, body: signed.body });
        expect(res.status, provider).toBe(provider === "twilio" ? 202 : 200);
      }
    });
  });
}

async function ledgerCountOf(s: System): Promise<number> {
  const { rows } = await s.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events");
  return rows[0]!.n;
}
