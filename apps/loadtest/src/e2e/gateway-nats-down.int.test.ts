/**
 * A gateway started while NATS is unreachable listens at once: /healthz 200, /readyz 503,
 * webhooks 503 + Retry-After, a "waiting for NATS" line naming the servers at a steady interval,
 * and it starts accepting by itself (creating its streams) when NATS arrives. A worker started
 * then likewise answers /healthz, reports not ready (saying why) and logs that it waits, and
 * starts applying by itself.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { connectQueue, deadLetterConfigFor, type QueueConnection } from "@floodgate/queue";
import { startNatsServer, uniqueQueueConfig, type TestNatsServer } from "@floodgate/queue/testing";
import { createTestDatabase, type TestDatabase } from "@floodgate/db/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, httpOk, startProcess, waitFor, type ManagedProcess } from "../harness/processes.js";
import { REPO_ROOT, scrape } from "../harness/system.js";
import { createWebhookSigner, generateSigningSecrets, telnyxBody } from "../webhooks.js";

const GATEWAY_MAIN = resolve(REPO_ROOT, "apps/gateway/dist/main.js");
const WORKER_MAIN = resolve(REPO_ROOT, "apps/worker/dist/main.js");
const WAIT_LOG_MS = 500;
const secrets = generateSigningSecrets();
const signer = createWebhookSigner(secrets);
const queue = uniqueQueueConfig();

let nats: TestNatsServer;
let gateway: ManagedProcess;
let worker: ManagedProcess;
let database: TestDatabase;
let base: string;
let metricsUrl: string;
let workerBase: string;
const waiting: { time: number; servers: string[]; msg: string }[] = [];
const workerWaiting: string[] = [];

/** A "waiting for NATS" log line, or undefined for any other line. */
function waitingLine(line: string): { time: number; servers: string[]; msg: string } | undefined {
  try {
    const entry = JSON.parse(line) as { time: number; nats?: string; servers?: string[]; msg: string };
    return entry.nats === "waiting" ? { time: entry.time, servers: entry.servers ?? [], msg: entry.msg } : undefined;
  } catch {
    return undefined; // not a log line
  }
}

beforeAll(async () => {
  nats = await startNatsServer();
  await nats.kill(); // the port is known, nothing answers on it
  const [port, metricsPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  gateway = startProcess("gateway", process.execPath, ["--enable-source-maps", GATEWAY_MAIN], {
    env: {
      ...process.env,
      NATS_URL: `nats://${nats.url}`,
      WEBHOOK_STREAM: queue.stream,
      WEBHOOK_SUBJECT_PREFIX: queue.subjectPrefix,
      HOST: "127.0.0.1",
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      TELNYX_PUBLIC_KEY: secrets.TELNYX_PUBLIC_KEY,
      RESEND_WEBHOOK_SECRET: secrets.RESEND_WEBHOOK_SECRET,
      NATS_WAIT_LOG_MS: String(WAIT_LOG_MS),
      LOG_LEVEL: "info",
    },
    onLine: (line) => {
      const w = waitingLine(line);
      if (w) waiting.push(w);
    },
  });
  database = await createTestDatabase();
  const workerPort = await freePort();
  workerBase = `http://127.0.0.1:${workerPort}`;
  worker = startProcess("worker", process.execPath, ["--enable-source-maps", WORKER_MAIN], {
    env: {
      ...process.env,
      NATS_URL: `nats://${nats.url}`,
      DATABASE_URL: database.url,
      WEBHOOK_STREAM: queue.stream,
      WEBHOOK_SUBJECT_PREFIX: queue.subjectPrefix,
      WEBHOOK_CONSUMER: queue.consumer,
      WEBHOOK_FLUSH_INTERVAL: "50",
      HOST: "127.0.0.1",
      WORKER_PORT: String(workerPort),
      NATS_WAIT_LOG_MS: String(WAIT_LOG_MS),
      LOG_LEVEL: "info",
    },
    onLine: (line) => {
      const w = waitingLine(line);
      if (w) workerWaiting.push(w.msg);
    },
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await worker?.stop();
  await database?.drop();
  await nats?.stop();
});

async function sendTelnyx(messageId: string = randomUUID()): Promise<Response> {
  const body = telnyxBody({ messageId, to: [{ phone: "+15555550100", status: "delivered" }] });
  return fetch(`${base}/webhooks/telnyx`, { method: "POST", headers: signer.telnyx(body), body });
}

describe("gateway started while NATS is unreachable", () => {
  it("listens at once: healthy, not ready, webhooks 503 with Retry-After", async () => {
    await waitFor("gateway listening", () => httpOk(`${base}/healthz`), 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- gateway output ---\n${gateway.output()}`);
    });
    expect(gateway.child.exitCode).toBeNull();
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    const readiness = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    expect(readiness.status).toBe("not_ready");
    expect(readiness.checks.nats).toMatchObject({ ok: false, detail: expect.stringContaining(`waiting for NATS at nats://${nats.url}`) });
    expect((await fetch(metricsUrl.replace("/metrics", "/readyz"))).status).toBe(503);

    const res = await sendTelnyx();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toMatchObject({ outcome: "queue_unavailable" });
    expect((await scrape(metricsUrl, "webhook_nats_connected")).get("")).toBe(0);
  });

  it("the worker too: healthy, not ready (saying it waits for NATS), and it logs that it waits", async () => {
    await waitFor("worker listening", () => httpOk(`${workerBase}/healthz`), 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- worker output ---\n${worker.output()}`);
    });
    const ready = await fetch(`${workerBase}/readyz`);
    expect(ready.status).toBe(503);
    const readiness = (await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
    expect(readiness.checks.nats).toMatchObject({ ok: false, detail: expect.stringContaining("waiting for NATS") });
    expect(readiness.checks.database).toMatchObject({ ok: true });
    expect((await fetch(`${workerBase}/admin/dead-letters`)).status).toBe(503);
    await waitFor("two waiting lines from the worker", () => workerWaiting.length >= 2, 20_000);
    expect(workerWaiting[0]).toBe(`waiting for NATS at nats://${nats.url}`);
    expect(worker.child.exitCode).toBeNull();
  });

  it("logs that it is waiting for NATS, naming the servers, at a steady interval", async () => {
    await waitFor("four waiting lines", () => waiting.length >= 4, 20_000);
    for (const w of waiting) {
      expect(w.servers).toEqual([`nats://${nats.url}`]);
      expect(w.msg).toBe(`waiting for NATS at nats://${nats.url}`);
    }
    // After the first (logged at the first failed attempt), one line per interval; generous
    // bounds, the machine is shared.
    const gaps = waiting.slice(1).map((w, i) => w.time - waiting[i]!.time);
    for (const gap of gaps.slice(1)) {
      expect(gap).toBeGreaterThan(WAIT_LOG_MS * 0.5);
      expect(gap).toBeLessThan(WAIT_LOG_MS * 6);
    }
  });

  it("starts accepting by itself when NATS arrives, creating its streams", async () => {
    await nats.restart();
    await waitFor("gateway ready", () => httpOk(`${base}/readyz`), 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- gateway output ---\n${gateway.output()}`);
    });
    const res = await sendTelnyx();
    expect(res.status).toBe(202);
    const conn: QueueConnection = await connectQueue({ servers: nats.url, name: "floodgate-test-nats-down" });
    try {
      expect((await conn.jsm.streams.info(queue.stream)).state.messages).toBeLessThanOrEqual(1); // the worker may have taken it already
      expect((await conn.jsm.streams.info(deadLetterConfigFor(queue).stream)).config.name).toBe(deadLetterConfigFor(queue).stream);
    } finally {
      await conn.close();
    }
    await waitFor("nats gauge", async () => (await scrape(metricsUrl, "webhook_nats_connected")).get("") === 1, 5_000);
    // The worker starts by itself too, and applies what arrives.
    await waitFor("worker ready", () => httpOk(`${workerBase}/readyz`), 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- worker output ---\n${worker.output()}`);
    });
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    try {
      const messageId = randomUUID();
      await pool.query("INSERT INTO batches (id) VALUES ('nats-down')");
      await pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('r1', 'nats-down', 'telnyx', $1)", [messageId]);
      expect((await sendTelnyx(messageId)).status).toBe(202);
      await waitFor("the webhook applied", async () => (await pool.query("SELECT status FROM recipients WHERE id = 'r1'")).rows[0]?.status === "delivered", 20_000);
    } finally {
      await pool.end();
    }
    // Connected: no more waiting lines.
    const count = waiting.length;
    await new Promise((r) => setTimeout(r, WAIT_LOG_MS * 3));
    expect(waiting.length).toBe(count);
  });
});
