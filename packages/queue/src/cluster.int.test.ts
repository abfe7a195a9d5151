// The queue package on a three-node cluster of the test's own: what only a cluster shows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueConfig } from "./config.js";
import { connectQueue, type QueueConnection } from "./connect.js";
import { ensureConsumer } from "./consumer-setup.js";
import { createPublisher } from "./publisher.js";
import { createPullConsumer } from "./pull-consumer.js";
import { ensureStream } from "./stream.js";
import { subjectFor } from "./subject.js";
import { startNatsCluster, type TestNatsCluster } from "./testing/nats-cluster.js";
import { freePort, uniqueQueueConfig } from "./testing/nats-test-env.js";

let cluster: TestNatsCluster;
const open: QueueConnection[] = [];
const payload = new Uint8Array(100);

beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);

afterAll(async () => {
  for (const q of open) await q.close().catch(() => undefined);
  await cluster?.dispose();
});

async function connectAll(name: string): Promise<QueueConnection> {
  const q = await connectQueue({ servers: cluster.natsUrl, name });
  open.push(q);
  return q;
}

/**
 * Runs `step` until it succeeds, every 500 ms for up to `seconds`, while the cluster's meta layer
 * still refuses (a restarted peer not counted back yet); then fails with `what` and every node's state.
 */
async function retryWhileRecovering(what: string, seconds: number, step: () => Promise<void>): Promise<void> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (Date.now() > until) throw new Error(`${what} within ${seconds} s: ${String(err)}\n${await cluster.describe()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Creates the test's R3 stream, retrying while the cluster still counts a restarted node as
 * offline ("no suitable peers for placement"): /healthz can answer 200 before the meta layer
 * sees every peer again.
 */
function ensureR3Stream(q: QueueConnection, cfg: QueueConfig): Promise<void> {
  return retryWhileRecovering("R3 stream not placed", 30, async () => {
    await ensureStream(q.jsm, cfg);
  });
}

/** Deletes every stream of the cluster, retrying while the meta layer still refuses (a peer back from the dead). */
function deleteStreamsOnceAccepted(q: QueueConnection): Promise<void> {
  return retryWhileRecovering("streams not deleted", 60, async () => {
    for await (const name of q.jsm.streams.names()) await q.jsm.streams.delete(name);
  });
}

/** The node a connection is on, by its client port. */
function nodeOf(q: QueueConnection): string {
  const port = Number(q.nc.getServer().split(":").at(-1));
  return cluster.nodes.find((n) => n.port === port)!.name;
}

describe("the queue on a three-node cluster", () => {
  it("connects given a comma-separated list whose first server is down", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const q = await connectQueue({ servers: `${dead},${cluster.nodes[0]!.url}`, name: "floodgate-queue-int-comma" });
    open.push(q);
    expect(q.nc.getServer()).toBe(cluster.nodes[0]!.url);
  });

  it("a publisher on a hung node leaves it for another one within seconds, not after the pings give up", async () => {
    const q = await connectAll("floodgate-queue-int-hung");
    const cfg = uniqueQueueConfig({ replicas: 3 });
    await ensureR3Stream(q, cfg);
    const pub = createPublisher(q, { timeoutMs: 1000 });
    const subject = subjectFor(cfg.subjectPrefix, "p", "t");
    await pub.publish(subject, payload, "before");
    const hung = nodeOf(q);
    cluster.pause(hung);
    try {
      const started = performance.now();
      let stored = false;
      for (let i = 0; !stored && performance.now() - started < 20_000; i++) {
        // A refusal comes back at once while disconnected: wait a little, as a provider's retry
        // would, or this loop would keep the event loop to itself and the reconnect never runs.
        stored = await pub.publish(subject, payload, `during-${i}`).then(
          () => true,
          () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50)),
        );
      }
      const tookMs = performance.now() - started;
      expect(stored).toBe(true);
      // nats.js alone would keep the connection until 3 pings of 20 s went unanswered.
      expect(tookMs).toBeLessThan(12_000); // one timeout, the switch, and an election if it led the stream
      expect(nodeOf(q)).not.toBe(hung);
    } finally {
      cluster.resume(hung);
    }
    await cluster.waitHealthy(60_000);
  }, 90_000);

  it("a pull consumer started while its consumer has no leader starts consuming once it has one", async () => {
    const q = await connectAll("floodgate-queue-int-leaderless");
    const cfg = uniqueQueueConfig({ replicas: 3 });
    await ensureR3Stream(q, cfg);
    await ensureConsumer(q.jsm, cfg);
    await createPublisher(q).publish(subjectFor(cfg.subjectPrefix, "p", "t"), payload, "m1");
    // Two of three nodes down: no quorum, no consumer leader. Keep the one this client is on.
    const kept = nodeOf(q);
    const downed = cluster.nodes.filter((n) => n.name !== kept).map((n) => n.name);
    for (const name of downed) await cluster.kill(name);
    const consumer = createPullConsumer(q.js, { stream: cfg.stream, durable: cfg.consumer, expiresMs: 5000 });
    const got: number[] = [];
    const consuming = consumer.consume((m) => {
      got.push(m.seq);
      m.ack();
    });
    const failed = consuming.then(
      () => "ended",
      (err: unknown) => `failed: ${String(err)}`,
    );
    // Long enough for a lookup to time out.
    const early = await Promise.race([failed, new Promise((r) => setTimeout(() => r("still running"), 7000))]);
    for (const name of downed) await cluster.start(name);
    expect(early).toBe("still running");
    const until = Date.now() + 45_000;
    while (got.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();
    expect(got).toEqual([1]);
    // Every R3 stream lost its quorum with the two nodes: the cluster is healthy again only once
    // each has caught up, which nats-server 2.9.10 under a loaded CI run did not do within 60 s.
    // The tests' streams are not needed any more: delete them, so health waits only on the meta layer.
    await deleteStreamsOnceAccepted(q);
    await cluster.waitHealthy(60_000);
  }, 150_000);

  it("a publisher whose stream has no leader stays on its server while the server answers (no switching during an election)", async () => {
    const switches: string[] = [];
    const log = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (obj: object) => void ("nats" in obj && obj.nats === "switchServer" && switches.push(JSON.stringify(obj))) };
    const q = await connectQueue({ servers: cluster.natsUrl, name: "floodgate-queue-int-election", log });
    open.push(q);
    const cfg = uniqueQueueConfig({ replicas: 3 });
    await ensureR3Stream(q, cfg);
    const pub = createPublisher(q, { timeoutMs: 500 });
    const subject = subjectFor(cfg.subjectPrefix, "p", "t");
    await pub.publish(subject, payload, "before");
    // Two of three nodes down: the stream has no quorum, so no leader, for as long as they are.
    // (Last in this file: a cluster that lost its quorum can take long to be healthy again.)
    const kept = nodeOf(q);
    const downed = cluster.nodes.filter((n) => n.name !== kept).map((n) => n.name);
    for (const name of downed) await cluster.kill(name);
    try {
      const until = performance.now() + 5000;
      let failures = 0;
      while (performance.now() < until) {
        await pub.publish(subject, payload, `during-${failures}`).catch(() => failures++);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(failures).toBeGreaterThan(3);
      expect(switches).toEqual([]);
      expect(nodeOf(q)).toBe(kept);
    } finally {
      for (const name of downed) await cluster.start(name);
    }
  }, 90_000);
});
