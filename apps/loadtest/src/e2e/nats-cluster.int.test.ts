/**
 * Failover on a three-node NATS cluster of the test's own (R3 work, consumer and dead-letter
 * streams), a gateway given every node and two workers, under provider-like load: every webhook
 * not answered 2xx is sent again a second later. Each scenario ends with every acknowledged
 * webhook applied exactly once and the counter invariant, and reports the longest stretch during
 * which the gateway accepted nothing. The cluster is reused: each scenario leaves it healthy.
 */
import { createInterface } from "node:readline";
import { startNatsCluster, type TestNatsCluster } from "@floodgate/queue/testing";
import { connectQueue } from "@floodgate/queue";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { longestNon2xxMs, runDeliveries, settleAndReport } from "../harness/scenario.js";
import { startSystem, type System } from "../harness/system.js";

const TOTAL = 3000;
const RATE = 250;
const FAULT_AT_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gateway's NATS log lines (disconnects, reconnects, servers left), reported per scenario. */
const gatewayNats: string[] = [];
/** Why the gateway refused webhooks (its log's `detail`), counted per scenario. */
const refusedWhy = new Map<string, number>();
let cluster: TestNatsCluster;
let sys: System;

beforeAll(async () => {
  cluster = await startNatsCluster();
  sys = await startSystem({ natsUrl: cluster.natsUrl, replicas: 3, workers: 2, gatewayEnv: { LOG_LEVEL: "info" } });
  createInterface({ input: sys.gateway.child.stdout! }).on("line", (line) => {
    if (line.includes('"component":"nats"')) gatewayNats.push(line);
    else if (line.includes('"msg":"webhook not queued"')) {
      const why = (JSON.parse(line) as { detail?: string }).detail ?? "?";
      refusedWhy.set(why, (refusedWhy.get(why) ?? 0) + 1);
    }
  });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
  await cluster?.dispose();
});

afterEach(async () => {
  // A scenario leaves every node up and caught up for the next one.
  for (const node of cluster.nodes) {
    cluster.resume(node.name);
    if (!node.running) await cluster.start(node.name);
  }
  await cluster.waitHealthy(60_000);
});

/** The node a client (by connection name) is connected to, from each node's /connz. */
async function nodeServing(clientName: string): Promise<string> {
  for (const node of cluster.nodes) {
    if (!node.running || node.paused) continue;
    const connz = (await (await fetch(`http://127.0.0.1:${node.httpPort}/connz?limit=1024`)).json()) as { connections?: { name?: string }[] };
    if (connz.connections?.some((c) => c.name === clientName)) return node.name;
  }
  throw new Error(`no node serves ${clientName}`);
}

const streamLeader = () => cluster.streamLeader(sys.queueConnection.jsm, sys.queue.stream);
const consumerLeader = () => cluster.consumerLeader(sys.queueConnection.jsm, sys.queue.stream, sys.queue.consumer);

/**
 * Runs the load with `fault` started two seconds in, waits for it and for every webhook to be
 * acknowledged and applied, checks exactly-once and the invariant, and prints the report line.
 */
async function scenario(name: string, fault: () => Promise<string>): Promise<{ longestMs: number }> {
  let injected: Promise<string> | undefined;
  gatewayNats.length = 0;
  refusedWhy.clear();
  const started = Date.now();
  const run = await runDeliveries(sys, TOTAL, RATE, (elapsed) => {
    if (elapsed > FAULT_AT_MS && !injected) injected = fault();
  }, { resendAfterMs: 1000 });
  const detail = await injected;
  expect(run.acked.size).toBe(TOTAL);
  const report = await settleAndReport(sys, run, `cluster:${name}`);
  expect(report).toMatchObject({ acknowledged: TOTAL, applied: TOTAL, ledgerRows: TOTAL, deadLettered: 0, missing: [] });
  await sys.assertInvariant();
  const longestMs = longestNon2xxMs(run);
  const non2xx: Record<number, number> = {};
  for (const a of run.answers) if (!a.ok) non2xx[a.status] = (non2xx[a.status] ?? 0) + 1;
  const natsEvents = gatewayNats.map((line) => {
    const e = JSON.parse(line) as { time: number; nats?: string; server?: string };
    return `+${((e.time - started) / 1000).toFixed(1)}s ${e.nats ?? "?"}${e.server ? ` ${e.server}` : ""}`;
  });
  console.log(
    `[cluster:${name}] acknowledged=${report.acknowledged} applied=${report.applied} dead-lettered=${report.deadLettered} longest-non-2xx=${longestMs}ms non-2xx-answers=${JSON.stringify(non2xx)} resent=${run.resent} not-sent-in-time=${run.load.saturated} (${detail}) gateway-nats=[${natsEvents.join(", ")}] refused-because=${JSON.stringify(Object.fromEntries(refusedWhy))}`,
  );
  return { longestMs };
}

describe("NATS cluster failover", () => {
  it("SIGKILL of the stream leader, restarted 5 s later", async () => {
    await scenario("stream-leader-killed", async () => {
      const leader = await streamLeader();
      await cluster.kill(leader);
      await sleep(5000);
      await cluster.start(leader);
      return `killed ${leader}`;
    });
  }, 120_000);

  it("SIGKILL of the consumer leader, restarted 5 s later", async () => {
    await scenario("consumer-leader-killed", async () => {
      const [leader, stream] = [await consumerLeader(), await streamLeader()];
      await cluster.kill(leader);
      await sleep(5000);
      await cluster.start(leader);
      return `killed ${leader}; stream leader was ${stream}`;
    });
  }, 120_000);

  it("a node stopped, its store deleted, restarted empty: it catches up and serves", async () => {
    let wiped = "";
    await scenario("node-wiped", async () => {
      wiped = await streamLeader();
      await cluster.stop(wiped);
      await cluster.wipe(wiped);
      await sleep(2000);
      await cluster.start(wiped);
      return `wiped ${wiped}`;
    });
    await cluster.waitHealthy(60_000);
    // It serves: a client of that node alone sees the stream as the leader does, and the node
    // is a current replica of the work stream and the dead-letter stream.
    const own = await connectQueue({ servers: cluster.node(wiped).url, name: "floodgate-test-wiped-node" });
    try {
      // Catching up takes a moment after /healthz: poll until it is a current replica.
      await waitFor(`${wiped} a current replica`, async () => {
        const info = await own.jsm.streams.info(sys.queue.stream);
        const current = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).filter((r) => r.current).map((r) => r.name)];
        return current.includes(wiped);
      }, 30_000, 250);
      const info = await own.jsm.streams.info(sys.queue.stream);
      const leaderView = await sys.queueConnection.jsm.streams.info(sys.queue.stream);
      expect(info.state.last_seq).toBe(leaderView.state.last_seq);
    } finally {
      await own.close();
    }
  }, 150_000);

  it("a rolling restart of all three nodes, one after another", async () => {
    await scenario("rolling-restart", async () => {
      for (const node of cluster.nodes) {
        await cluster.stop(node.name);
        await cluster.start(node.name);
        await cluster.waitHealthy(60_000);
      }
      return `restarted ${cluster.nodes.map((n) => n.name).join(", ")}`;
    });
  }, 180_000);

  it("a hung node (SIGSTOP for 10 s, then SIGCONT): the one the gateway is connected to", async () => {
    await scenario("node-hung-10s", async () => {
      const hung = await nodeServing("floodgate-gateway");
      const roles = `stream leader ${await streamLeader()}, consumer leader ${await consumerLeader()}`;
      cluster.pause(hung);
      await sleep(10_000);
      cluster.resume(hung);
      return `froze ${hung} (${roles})`;
    });
  }, 150_000);

  it("SIGKILL of one of two workers mid-batch while a node is down", async () => {
    await scenario("worker-killed-node-down", async () => {
      // A node that leads neither the stream nor the consumer, when there is one.
      const leaders = [await streamLeader(), await consumerLeader()];
      const down = (cluster.nodes.find((n) => !leaders.includes(n.name)) ?? cluster.nodes[0]!).name;
      await cluster.kill(down);
      await sleep(1000);
      await sys.workers[0]!.kill9();
      await sleep(4000);
      await cluster.start(down);
      return `killed ${down} and worker-0; stream leader was ${leaders[0]}, consumer leader ${leaders[1]}`;
    });
    // Two workers again for whatever runs next.
    await sys.startWorker();
  }, 150_000);
});
