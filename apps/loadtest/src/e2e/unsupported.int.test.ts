/**
 * What verifies but cannot be understood is kept, not bounced: an unknown Resend event type is
 * answered 2xx, kept raw in the dead letters (listed by the CLI and the admin API), stays there
 * when replayed through today's plugins, and is applied by a replay once the mapping knows it.
 */
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { providers } from "@floodgate/gateway/providers";
import { defineProvider, type ProviderDefinition } from "@floodgate/provider-kit";
import { deadLetterConfigFor } from "@floodgate/queue";
import { createDeadLetterOps } from "@floodgate/worker/dead-letters";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { REPO_ROOT, scrape, startSystem, type System } from "../harness/system.js";
import { resendBody, type ResendType } from "../webhooks.js";

const run = promisify(execFile);
const DLQ_CLI = resolve(REPO_ROOT, "apps/worker/dist/dlq-cli.js");
const token = randomBytes(24).toString("hex");
let sys: System;

beforeAll(async () => {
  sys = await startSystem({ workerEnv: { ADMIN_TOKEN: token } });
}, 120_000);
afterAll(async () => {
  await sys?.assertInvariant();
  await sys?.stop();
});

function dlq(...args: string[]) {
  return run(process.execPath, [DLQ_CLI, ...args], {
    env: { ...process.env, NATS_URL: sys.natsUrl, WEBHOOK_STREAM: sys.queue.stream, WEBHOOK_SUBJECT_PREFIX: sys.queue.subjectPrefix },
  }).catch((err: { code: number; stdout: string; stderr: string }) => err);
}

const resend = providers.find((p) => p.id === "resend")!;

/** The plugin after an upgrade that maps `email.teleported` (as a delivery). The test swaps it in. */
const upgradedResend: ProviderDefinition<unknown> = defineProvider({
  ...resend,
  extract(payload, context) {
    const body = payload as { type?: string };
    if (body.type !== "email.teleported") return resend.extract(payload, context);
    const result = resend.extract({ ...body, type: "email.delivered" }, context);
    return result.ok ? { ...result, events: result.events.map((e) => ({ ...e, type: "email.teleported", rawStatus: "email.teleported" })) } : result;
  },
});

describe("an unknown Resend event type", () => {
  it("is answered 2xx, kept in the dead letters, stays there under today's plugin, and is applied by a replay once the mapping knows it", async () => {
    const emailId = randomUUID();
    await sys.pool.query("INSERT INTO batches (id) VALUES ('tp-batch')");
    await sys.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('r-tp', 'tp-batch', 'resend', $1)", [emailId]);
    const body = resendBody({ emailId, type: "email.teleported" as ResendType, to: "someone@example.test" });
    const headers = sys.signer.resend(body, "msg_teleported_1");
    const post = () => fetch(`${sys.gatewayUrl}/webhooks/resend`, { method: "POST", headers, body });

    const first = await post();
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ outcome: "dead_lettered", reason: "unsupported_event" });
    // Resend retries the same delivery: kept once.
    expect((await post()).status).toBe(202);
    expect(await sys.deadLetterCount()).toBe(1);
    expect((await scrape(sys.metricsUrl, "webhook_unsupported_total")).get('{provider="resend",reason="unsupported_event"}')).toBe(2);
    expect((await scrape(sys.metricsUrl, "webhook_rejected_total")).size).toBe(0);

    // A type the plugin knows and ignores is still 200 ignored, and kept nowhere.
    const contact = JSON.stringify({ type: "contact.created", created_at: new Date().toISOString(), data: { id: randomUUID() } });
    const ignored = await fetch(`${sys.gatewayUrl}/webhooks/resend`, { method: "POST", headers: sys.signer.resend(contact), body: contact });
    expect(ignored.status).toBe(200);
    expect(await ignored.json()).toEqual({ outcome: "ignored" });

    // Listed by the CLI and the admin API, raw, with the verified delivery id.
    const listed = await dlq("list", "--json", "--reason", "unsupported_event");
    const [letter] = JSON.parse(listed.stdout) as { seq: number; kind: string; provider: string; error: string; attempts: number; request: { deliveryId: string; verifiedBy: string }; body: string }[];
    expect(letter).toMatchObject({ kind: "raw", provider: "resend", error: "event type email.teleported", attempts: 0, request: { deliveryId: "msg_teleported_1", verifiedBy: "standard-webhooks" } });
    expect(JSON.parse(letter!.body)).toEqual(JSON.parse(body));
    expect((await dlq("list")).stdout).toMatch(/raw/);
    const admin = (await (await fetch(`${sys.workerUrl(0)}/admin/dead-letters?reason=unsupported_event`, { headers: { authorization: `Bearer ${token}` } })).json()) as { count: number; items: { seq: number; kind: string }[] };
    expect(admin).toMatchObject({ count: 1, items: [{ seq: letter!.seq, kind: "raw" }] });

    // Replayed through today's plugins, it cannot be mapped yet: it stays, with the new error.
    const stays = await dlq("replay", String(letter!.seq));
    expect(stays.stdout).toContain("still_unmapped");
    expect(await sys.deadLetterCount()).toBe(1);
    const [again] = JSON.parse((await dlq("list", "--json")).stdout) as { seq: number; attempts: number; error: string }[];
    expect(again).toMatchObject({ attempts: 1, error: "event type email.teleported" });
    expect(again!.seq).toBeGreaterThan(letter!.seq);
    expect((await sys.pool.query("SELECT status FROM recipients WHERE id = 'r-tp'")).rows[0]).toEqual({ status: "queued" });

    // After the plugin upgrade (swapped in here), replay maps it and the worker applies it.
    const ops = createDeadLetterOps(sys.queueConnection, deadLetterConfigFor(sys.queue), { providers: providers.map((p) => (p.id === "resend" ? upgradedResend : p)) });
    expect(await ops.replay(again!.seq)).toBe("replayed");
    await waitFor("replay applied", async () => (await sys.pool.query("SELECT status FROM recipients WHERE id = 'r-tp'")).rows[0]?.status === "delivered", 20_000);
    expect(await sys.deadLetterCount()).toBe(0);
    const applied = await sys.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events");
    expect(applied.rows[0]!.n).toBe(1);
    expect((await sys.pool.query("SELECT delivered_count, queued_count FROM batches WHERE id = 'tp-batch'")).rows[0]).toEqual({ delivered_count: 1, queued_count: 0 });
  }, 90_000);
});
