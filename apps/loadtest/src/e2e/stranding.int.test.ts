/**
 * Nothing is stranded at max_deliver: a message the server stops delivering stays in a work queue
 * until max_age deletes it, unseen. The worker never spends a message's last delivery on a nak,
 * keeps a message in progress while the dead-letter stream refuses it, and a sweeper moves what
 * reaches max_deliver anyway (the server's MAX_DELIVERIES advisories, kept in a stream) to the dead
 * letters.
 */
import { randomUUID } from "node:crypto";
import { encodeEvents, type NormalizedEvent } from "@floodgate/provider-kit";
import { deadLetterConfigFor, listDeadLetters, strandedConfigFor, subjectFor } from "@floodgate/queue";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../harness/processes.js";
import { scrapeSum, startSystem, type System } from "../harness/system.js";

let sys: System | undefined;
afterEach(async () => {
  if (sys) {
    await sys.assertInvariant();
    await sys.stop();
    sys = undefined;
  }
});

/**
 * An event PostgreSQL refuses whatever is retried (its time overflows `interval`): a poison that
 * no normalization catches, published below the gateway as a grouped message would be.
 */
async function publishPoison(s: System): Promise<string> {
  const id = `poison-${randomUUID()}`;
  const event: NormalizedEvent = { provider: "telnyx", providerEventId: id, providerMessageId: id, recipient: "+15555550100", type: "message.finalized", status: "delivered", rawStatus: "delivered", occurredAt: 1e17, errorCode: null, errorMessage: null };
  await s.queueConnection.js.publish(subjectFor(s.queue.subjectPrefix, "telnyx", "message.finalized"), encodeEvents([event]));
  return id;
}

/** Makes the dead-letter stream refuse every write (full at one message); returns the undo. */
async function fillDeadLetters(s: System): Promise<() => Promise<void>> {
  const dlq = deadLetterConfigFor(s.queue);
  const { config } = await s.queueConnection.jsm.streams.info(dlq.stream);
  await s.queueConnection.jsm.streams.update(dlq.stream, { ...config, max_msgs: 1 });
  await s.queueConnection.js.publish(`${dlq.subjectPrefix}.filler.filler`, "filler");
  return async () => void (await s.queueConnection.jsm.streams.update(dlq.stream, { ...config, max_msgs: -1 }));
}

const workQueueSize = async (s: System) => (await s.queueConnection.jsm.streams.info(s.queue.stream)).state.messages;
const poisonLetters = async (s: System) => (await listDeadLetters(s.queueConnection.jsm, deadLetterConfigFor(s.queue))).filter((d) => d.info.reason !== "unknown");

const strict = { WEBHOOK_RETRY_ATTEMPTS: "1", WEBHOOK_RETRY_BASE_MS: "200", WEBHOOK_RETRY_MAX_MS: "400", WEBHOOK_MAX_DELIVER: "3", WEBHOOK_ACK_WAIT_MS: "2000", WEBHOOK_FLUSH_INTERVAL: "50" };

describe("nothing is stranded at max_deliver", () => {
  it("a poison event that exhausts its retries while the dead-letter stream refuses writes ends in the dead letters once it accepts", async () => {
    sys = await startSystem({ workerEnv: strict });
    const s = sys;
    const reopen = await fillDeadLetters(s);
    await publishPoison(s);
    // Refused again and again for longer than several ack_wait periods and retry delays: the old
    // behaviour (nak toward max_deliver) stranded it within a second here.
    await waitFor("the dead-letter stream to refuse the move a few times", async () => (await scrapeSum(s.workerMetricsUrl(0), "webhook_dead_letter_failures_total")) >= 3, 30_000, 200);
    await new Promise((r) => setTimeout(r, 7000));
    expect(await workQueueSize(s)).toBe(1);
    expect(await scrapeSum(s.workerMetricsUrl(0), "webhook_dead_letters_pending")).toBe(1);
    await reopen();
    await waitFor("the poison to reach the dead letters", async () => (await poisonLetters(s)).length === 1, 30_000, 200);
    expect((await poisonLetters(s))[0]!.info).toMatchObject({ reason: "apply_failed", attempts: 2 });
    await waitFor("the work queue to be empty", async () => (await workQueueSize(s)) === 0, 10_000, 200);
  }, 120_000);

  it("a message the server gave up on (max_deliver) during restarts is swept to the dead letters once they accept it", async () => {
    sys = await startSystem({ workerEnv: strict });
    const s = sys;
    const reopen = await fillDeadLetters(s);
    await publishPoison(s);
    const stranded = async () => (await s.queueConnection.jsm.streams.info(strandedConfigFor(s.queue).advisoryStream)).state.messages >= 1;
    // Workers shut down while they hold it and the dead letters refuse it: handed back, then left
    // unacked on its last delivery (a nak there would strand it). On 2.9.10 a hand-back at shutdown
    // can also be delivered to the departed worker's pending pull and counted (see the README), so
    // the server may give up on it sooner; either way it ends stranded, the case the sweeper exists for.
    for (let i = 0; i < 4 && !(await stranded()); i++) {
      await waitFor("the worker to hold it", async () => (await scrapeSum(s.workerMetricsUrl(i), "webhook_dead_letter_failures_total")) >= 1 || (await stranded()), 30_000, 200);
      await s.workers[i]!.stop("SIGTERM");
      await s.startWorker();
    }
    await waitFor("max_deliver reached: the server's advisory is kept", stranded, 30_000, 200);
    expect(await workQueueSize(s)).toBe(1);
    await reopen();
    await waitFor("the stranded message to reach the dead letters", async () => (await poisonLetters(s)).length === 1, 30_000, 200);
    expect((await poisonLetters(s))[0]!.info.reason).toBe("max_deliveries");
    await waitFor("the work queue to be empty", async () => (await workQueueSize(s)) === 0, 10_000, 200);
    let recovered = 0;
    for (let i = 0; i < s.workers.length; i++) recovered += await scrapeSum(s.workerMetricsUrl(i), "webhook_stranded_recovered_total").catch(() => 0);
    expect(recovered).toBe(1);
  }, 180_000);
});
