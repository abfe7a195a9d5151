/**
 * Observability tested for real: Debian's Prometheus scrapes the running gateway and worker
 * while webhooks flow, every dashboard panel's query returns data, and the alert rules pass
 * `promtool check rules` and `promtool test rules`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { encodeEvents } from "@floodgate/provider-kit";
import { subjectFor } from "@floodgate/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, httpOk, startProcess, waitFor, type ManagedProcess } from "../harness/processes.js";
import { runDeliveries } from "../harness/scenario.js";
import { REPO_ROOT, startSystem, type System } from "../harness/system.js";
import { resendBody, type ResendType } from "../webhooks.js";

const run = promisify(execFile);
const OPS = resolve(REPO_ROOT, "ops");
let sys: System;
let prometheus: ManagedProcess;
let promUrl: string;
let dir: string;

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

async function query(expr: string): Promise<unknown[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data?: { result: unknown[] }; error?: string };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data!.result;
}

beforeAll(async () => {
  await run("bash", [resolve(REPO_ROOT, "scripts/ensure-prometheus.sh")], { timeout: 300_000 });
  sys = await startSystem({ workerEnv: { WEBHOOK_RETRY_ATTEMPTS: "0" } });
  dir = await mkdtemp(join(tmpdir(), "fg-prom-"));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const gatewayTarget = new URL(sys.metricsUrl).host;
  const workerTarget = new URL(sys.workerMetricsUrl(0)).host;
  // The committed scrape config, pointed at this test's ports and scraping every second.
  const committed = await readFile(join(OPS, "prometheus/prometheus.yml"), "utf8");
  const config = committed
    .replace("scrape_interval: 15s", "scrape_interval: 1s")
    .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
    .replace("- alerts.yml", `- ${join(OPS, "prometheus/alerts.yml")}`)
    .replace('"127.0.0.1:6001"', `"${gatewayTarget}"`)
    .replace('"127.0.0.1:6002"', `"${workerTarget}"`);
  await writeFile(join(dir, "prometheus.yml"), config);
  prometheus = startProcess("prometheus", "prometheus", [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  await waitFor("prometheus ready", () => httpOk(`${promUrl}/-/ready`), 30_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${prometheus.output()}`);
  });
}, 360_000);

afterAll(async () => {
  await prometheus?.stop();
  await sys?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("observability", () => {
  it("every dashboard panel's query returns data while webhooks flow", async () => {
    // Traffic: deliveries, a few forged requests, and one poison event that ends as a dead letter.
    const forged = resendBody({ emailId: "x", type: "email.sent", to: "a@b" });
    for (let i = 0; i < 5; i++) {
      await fetch(`${sys.gatewayUrl}/webhooks/resend`, { method: "POST", headers: { ...sys.signer.resend(forged), "svix-signature": "v1,AAAA" }, body: forged });
    }
    await sys.pool.query("INSERT INTO batches (id) VALUES ('obs') ON CONFLICT DO NOTHING");
    await sys.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ('r-obs', 'obs', 'resend', 'obs-poison')");
    // NUL is a value PostgreSQL text refuses; the gateway's normalization replaces it, so the
    // poison is published below it, straight to the stream.
    await sys.queueConnection.js.publish(
      subjectFor(sys.queue.subjectPrefix, "resend", "email.bounced"),
      encodeEvents([
        { provider: "resend", providerEventId: "msg_obs_poison", providerMessageId: "obs-poison", recipient: "p@x", type: "email.bounced", status: "bounced", rawStatus: "email.bounced", occurredAt: Date.now(), errorCode: null, errorMessage: "user\u0000unknown" },
      ]),
    );
    // A provider retry: the same delivery twice; the worker's ledger recognizes the second.
    const retried = resendBody({ emailId: "obs-retried", type: "email.sent", to: "r@x" });
    const retryHeaders = sys.signer.resend(retried, "msg_obs_retry");
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${sys.gatewayUrl}/webhooks/resend`, { method: "POST", headers: retryHeaders, body: retried });
      expect(res.status === 200 || res.status === 202).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // a retry comes later, not in the same batch
    }
    // A verified webhook of a type the plugin cannot map: kept in the dead letters, counted.
    const unknownType = resendBody({ emailId: "obs-unknown", type: "email.teleported" as ResendType, to: "u@x" });
    expect((await fetch(`${sys.gatewayUrl}/webhooks/resend`, { method: "POST", headers: sys.signer.resend(unknownType), body: unknownType })).status).toBe(202);
    const events = await runDeliveries(sys, 2400, 200);
    expect(events.acked.size).toBe(2400);
    await waitFor("dead letters counted", async () => (await sys.deadLetterCount()) === 2, 20_000, 200);

    const dashboard = JSON.parse(await readFile(join(OPS, "grafana/floodgate-dashboard.json"), "utf8")) as Dashboard;
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    const empty = new Set(exprs.map((e) => e.expr));
    await waitFor(
      "every panel query to return data",
      async () => {
        for (const e of exprs) if (empty.has(e.expr) && (await query(e.expr)).length > 0) empty.delete(e.expr);
        return empty.size === 0;
      },
      60_000,
      1000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; still empty: ${[...empty].join(" | ")}`);
    });

    // Values moved under load: Prometheus sees every applied event once the worker caught up.
    const scalar = async (expr: string) => Number(((await query(expr)) as { value: [number, string] }[])[0]?.value[1] ?? 0);
    await waitFor("applied events scraped", async () => (await scalar('sum(webhook_processed_total{outcome="applied"})')) >= 2400, 30_000, 500);
    expect(await scalar('sum(webhook_rejected_total{reason="mismatch"})')).toBe(5);
    await waitFor("the retry counted as a duplicate", async () => (await scalar('sum(webhook_processed_total{outcome="duplicate"})')) >= 1, 10_000, 500);
  }, 180_000);

  it("loads the alert rules, and the dead-letter alert goes pending on live data", async () => {
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; state?: string }[] }[] } };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.name).sort()).toEqual([
      "FloodgateBacklogGrowing",
      "FloodgateCircuitOpen",
      "FloodgateDeadLetterStreamRefusing",
      "FloodgateDeadLetters",
      "FloodgateLagOverTarget",
      "FloodgateNatsDisconnected",
      "FloodgateRejectionSpike",
      "FloodgateTargetDown",
      "FloodgateUnsupportedWebhooks",
    ]);
    expect(all.every((r) => r.health === "ok")).toBe(true);
    await waitFor("FloodgateDeadLetters pending or firing", async () => {
      const alerts = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: { labels: { alertname: string } }[] } };
      return alerts.data.alerts.some((a) => a.labels.alertname === "FloodgateDeadLetters");
    }, 20_000, 500);
  }, 60_000);

  it("promtool checks the rules and their unit tests show the backlog and dead-letter alerts firing", async () => {
    const check = await run("promtool", ["check", "rules", join(OPS, "prometheus/alerts.yml")]);
    expect(check.stdout).toContain("SUCCESS: 9 rules found");
    const tests = await run("promtool", ["test", "rules", join(OPS, "prometheus/alerts.test.yml")]);
    expect(tests.stdout).toContain("SUCCESS");
    const rulesTest = await readFile(join(OPS, "prometheus/alerts.test.yml"), "utf8");
    expect(rulesTest).toContain("alertname: FloodgateBacklogGrowing");
    expect(rulesTest).toContain("alertname: FloodgateDeadLetters");
    expect(rulesTest).toContain("alertname: FloodgateUnsupportedWebhooks");
  });
});
