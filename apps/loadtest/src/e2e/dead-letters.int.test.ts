/**
 * The operator's side of dead letters: a webhook that failed for a reason the operator can fix
 * is dead-lettered, then listed, inspected and replayed with the CLI (and the admin HTTP API),
 * and the replay shows in the recipient's row.
 */
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { REPO_ROOT, startSystem, type System } from "../harness/system.js";
import { telnyxBody } from "../webhooks.js";

const run = promisify(execFile);
const DLQ_CLI = resolve(REPO_ROOT, "apps/worker/dist/dlq-cli.js");
const token = randomBytes(24).toString("hex");
let sys: System;

beforeAll(async () => {
  sys = await startSystem({ workerEnv: { ADMIN_TOKEN: token, WEBHOOK_RETRY_ATTEMPTS: "1", WEBHOOK_RETRY_BASE_MS: "100", WEBHOOK_RETRY_MAX_MS: "200" } });
}, 120_000);
afterAll(async () => {
  await sys?.assertInvariant();
  await sys?.stop();
});

function dlq(...args: string[]) {
  return run(process.execPath, [DLQ_CLI, ...args], {
    env: { ...process.env, NATS_URL: sys.natsUrl, WEBHOOK_STREAM: sys.queue.stream, WEBHOOK_SUBJECT_PREFIX: sys.queue.subjectPrefix },
  });
}

const admin = (path: string, init: RequestInit = {}, auth = `Bearer ${token}`) =>
  fetch(`${sys.workerUrl(0)}/admin/dead-letters${path}`, { ...init, headers: { authorization: auth } });

describe("dead letters: list, inspect, replay", () => {
  it("a dead-lettered webhook is replayed with the CLI after the cause is fixed, and the replay shows in the row", async () => {
    const messageId = randomUUID();
    await sys.pool.query("INSERT INTO batches (id) VALUES ('dl-batch')");
    await sys.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('r-dl', 'dl-batch', 'telnyx', $1)", [messageId]);
    // An operator-side problem: a guard trigger (say, a botched deploy) rejects this recipient's update.
    await sys.pool.query(`
      CREATE FUNCTION test_block() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'recipient % is locked for maintenance', NEW.id USING ERRCODE = 'P0001'; END $$;
      CREATE TRIGGER test_block BEFORE UPDATE ON recipients FOR EACH ROW WHEN (NEW.id = 'r-dl') EXECUTE FUNCTION test_block();`);
    const body = telnyxBody({ messageId, to: [{ phone: "+15555550199", status: "delivered" }] });
    expect((await fetch(`${sys.gatewayUrl}/webhooks/telnyx`, { method: "POST", headers: sys.signer.telnyx(body), body })).status).toBe(202);
    await waitFor("dead-lettered", async () => (await sys.deadLetterCount()) === 1, 30_000, 200);

    const list = JSON.parse((await dlq("list", "--json", "--provider", "telnyx")).stdout) as { seq: number; reason: string; attempts: number; error: string; events: { providerMessageId: string }[] }[];
    expect(list).toHaveLength(1);
    const [letter] = list;
    expect(letter).toMatchObject({ reason: "apply_failed", attempts: 2 });
    expect(letter!.error).toContain("locked for maintenance");
    expect(letter!.events[0]!.providerMessageId).toBe(messageId);
    expect((await dlq("list", "--reason", "undecodable")).stdout).toContain("showing 0");
    const shown = JSON.parse((await dlq("show", String(letter!.seq))).stdout) as { seq: number };
    expect(shown.seq).toBe(letter!.seq);
    expect((await sys.pool.query("SELECT status FROM recipients WHERE id = 'r-dl'")).rows[0]).toEqual({ status: "queued" });

    // The operator fixes the cause and replays.
    await sys.pool.query("DROP TRIGGER test_block ON recipients; DROP FUNCTION test_block()");
    expect((await dlq("replay", String(letter!.seq))).stdout).toContain("replayed");
    await waitFor("replay applied", async () => (await sys.pool.query("SELECT status FROM recipients WHERE id = 'r-dl'")).rows[0]?.status === "delivered", 15_000);
    expect((await sys.pool.query("SELECT delivered_count, queued_count FROM batches WHERE id = 'dl-batch'")).rows[0]).toEqual({ delivered_count: 1, queued_count: 0 });
    expect(await sys.deadLetterCount()).toBe(0);

    // Replaying again changes nothing: the dead letter is gone, and the ledger would ignore it anyway.
    await expect(dlq("replay", String(letter!.seq))).rejects.toMatchObject({ code: 1 });
    const ledger = await sys.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events");
    expect(ledger.rows[0]!.n).toBe(1);
  }, 90_000);

  it("the admin API needs the token and offers the same operations", async () => {
    expect((await admin("", {}, "")).status).toBe(401);
    expect((await admin("", {}, "Bearer wrong-token-wrong-token")).status).toBe(401);
    // An undecodable message on the work queue is dead-lettered at once.
    await sys.queueConnection.js.publish(`${sys.queue.subjectPrefix}.telnyx.message_sent`, new Uint8Array([0xde, 0xad]), { msgID: "garbage-1" });
    await waitFor("dead-lettered", async () => (await sys.deadLetterCount()) === 1, 15_000, 200);

    const listed = (await (await admin("?reason=undecodable")).json()) as { count: number; items: { seq: number; raw: string; events: null }[] };
    expect(listed.count).toBe(1);
    expect(listed.items[0]).toMatchObject({ events: null, raw: Buffer.from([0xde, 0xad]).toString("base64") });
    const seq = listed.items[0]!.seq;
    expect((await admin(`/${seq}`)).status).toBe(200);
    expect((await admin("?since=yesterday")).status).toBe(400);
    expect((await admin("", { method: "DELETE" })).status).toBe(400); // purge-all needs all=true
    expect(await (await admin(`/${seq}`, { method: "DELETE" })).json()).toEqual({ purged: 1 });
    expect((await admin(`/${seq}`)).status).toBe(404);
    expect(await (await admin("/replay", { method: "POST" })).json()).toEqual({ replayed: 0, seqs: [] });
  }, 60_000);
});
