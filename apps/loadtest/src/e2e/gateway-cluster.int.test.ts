/**
 * GATEWAY_PROCESSES > 1: several gateway processes share the port, metrics are aggregated on
 * METRICS_PORT, and a process that dies is replaced.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { runDeliveries } from "../harness/scenario.js";
import { scrapeSum, startSystem, type System } from "../harness/system.js";

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ workers: 0, gatewayEnv: { GATEWAY_PROCESSES: "2" } });
}, 60_000);
afterAll(async () => {
  await sys?.stop();
});

const children = () =>
  execFileSync("pgrep", ["-P", String(sys.gateway.child.pid)])
    .toString()
    .trim()
    .split("\n")
    .filter(Boolean)
    .map(Number);

describe("gateway cluster", () => {
  it("serves from two processes and reports their metrics summed", async () => {
    expect(children()).toHaveLength(2);
    const run = await runDeliveries(sys, 400, 400);
    expect(run.acked.size).toBe(400);
    await waitFor("aggregated counters", async () => (await scrapeSum(sys.metricsUrl, "webhook_queued_total")) === 400, 5000);
    expect(await scrapeSum(sys.metricsUrl, "webhook_queued_events_total")).toBe(400);
    // Grouped by each process: at most one message per webhook, usually far fewer.
    const info = await sys.queueConnection.jsm.streams.info(sys.queue.stream);
    expect(info.state.messages).toBeGreaterThan(0);
    expect(info.state.messages).toBeLessThanOrEqual(400);
  });

  it("replaces a gateway process that dies", async () => {
    const [victim] = children();
    process.kill(victim!, "SIGKILL");
    await waitFor("a new process", () => children().length === 2 && !children().includes(victim!), 10_000, 100);
    const run = await runDeliveries(sys, 100, 200);
    expect(run.acked.size).toBe(100);
  });
});
