/**
 * Structured logs: one id follows a webhook from the gateway's log to the worker's, and no
 * payload or secret reaches the logs at info level.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { startSystem, type System } from "../harness/system.js";
import { telnyxBody } from "../webhooks.js";

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ gatewayEnv: { LOG_LEVEL: "debug" }, workerEnv: { LOG_LEVEL: "debug" } });
}, 60_000);
afterAll(async () => {
  await sys?.stop();
});

const lines = (output: string) =>
  output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("logs", () => {
  it("carry the same event id in the gateway and the worker, as JSON lines", async () => {
    const messageId = randomUUID();
    const eventId = randomUUID();
    await sys.pool.query("INSERT INTO batches (id) VALUES ('logs')");
    await sys.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('r-logs', 'logs', 'telnyx', $1)", [messageId]);
    const body = telnyxBody({ eventId, messageId, to: [{ phone: "+15555550177", status: "delivered" }] });
    expect((await fetch(`${sys.gatewayUrl}/webhooks/telnyx`, { method: "POST", headers: sys.signer.telnyx(body), body })).status).toBe(202);
    await waitFor("applied", async () => (await sys.pool.query("SELECT status FROM recipients WHERE id = 'r-logs'")).rows[0]?.status === "delivered", 15_000);
    // The webhook's event id (Telnyx: `<data.id>:<phone>`) is in both processes' lines.
    const eventKey = `${eventId}:+15555550177`;
    const has = (l: Record<string, unknown>) => (l.eventIds as string[] | undefined)?.includes(eventKey) ?? false;
    await waitFor("worker logged the batch", () => lines(sys.workers[0]!.output()).some(has), 5_000);

    const gatewayLine = lines(sys.gateway.output()).find(has);
    expect(gatewayLine).toMatchObject({ msg: "webhook queued", webhookId: `telnyx:${eventId}`, provider: "telnyx", outcome: "accepted", status: 202, service: "floodgate-gateway" });
    const workerLine = lines(sys.workers[0]!.output()).find(has);
    expect(workerLine).toMatchObject({ msg: "batch applied", service: "floodgate-worker", applied: 1 });

    // Nothing at info level or above carries the payload (the phone number) or a secret.
    const loud = [...lines(sys.gateway.output()), ...lines(sys.workers[0]!.output())].filter((l) => Number(l.level) >= 30);
    const text = JSON.stringify(loud);
    expect(text).not.toContain("+15555550177");
    expect(text).not.toContain(sys.secrets.RESEND_WEBHOOK_SECRET);
  });
});
