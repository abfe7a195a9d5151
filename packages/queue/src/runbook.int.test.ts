/**
 * The README's runbook ("Looking into the queue", under Operating Floodgate) works: each `nats`
 * line of its code block runs, with this test's stream and consumer names, against the suite's
 * servers (one run per nats-server), using the CLI bootstrap.sh builds into .tools/bin.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, type QueueConnection } from "./connect.js";
import { ensureConsumer } from "./consumer-setup.js";
import { deadLetterConfigFor, ensureDeadLetterStream } from "./dead-letter.js";
import { createPublisher } from "./publisher.js";
import { ensureStream } from "./stream.js";
import { deleteStream, natsUrl, uniqueQueueConfig } from "./testing/nats-test-env.js";

const exec = promisify(execFile);
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CLI = resolve(process.env.FLOODGATE_TOOLS_DIR ?? resolve(REPO_ROOT, ".tools"), "bin/nats");

/** The `.tools/bin/nats …` lines of the README's runbook block, comments stripped. */
function runbookCommands(): string[] {
  const readme = readFileSync(resolve(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("**Looking into the queue.**"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line.startsWith(".tools/bin/nats "));
}

if (!existsSync(CLI)) console.warn(`!!\n!! ${CLI} is missing (bash scripts/bootstrap.sh tools builds it with Go): the runbook test is SKIPPED\n!!`);

describe.skipIf(!existsSync(CLI))("the README's runbook commands", () => {
  const cfg = uniqueQueueConfig();
  const dlq = deadLetterConfigFor(cfg);
  let q: QueueConnection;

  beforeAll(async () => {
    q = await connectQueue({ servers: natsUrl, name: "floodgate-queue-int-runbook" });
    await ensureStream(q.jsm, cfg, q.server);
    await ensureConsumer(q.jsm, cfg);
    await ensureDeadLetterStream(q.jsm, dlq);
    const publisher = createPublisher(q);
    await publisher.publish(`${cfg.subjectPrefix}.telnyx.message_finalized`, new TextEncoder().encode("first"), "telnyx:runbook-1");
    await publisher.publish(`${cfg.subjectPrefix}.resend.email_delivered`, new TextEncoder().encode("second"), "resend:runbook-2");
  });

  afterAll(async () => {
    await deleteStream(q.jsm, cfg.stream);
    await deleteStream(q.jsm, dlq.stream);
    await q.close();
  });

  /** Runs a README line with this test's names, in a pseudo-terminal (`stream view` pages in one). */
  async function run(line: string): Promise<string> {
    const command = line
      .replace(/\bwebhooks_dlq\b/g, dlq.stream)
      .replace(/\bwebhook-workers\b/g, cfg.consumer)
      .replace(/\bwebhooks\b/g, cfg.stream);
    try {
      const { stdout } = await exec("script", ["-qec", command, "/dev/null"], { cwd: REPO_ROOT, env: { ...process.env, NATS_URL: `nats://${natsUrl}` }, timeout: 20_000 });
      return stdout.replace(/\r/g, "");
    } catch (err) {
      throw new Error(`${command} failed:\n${String((err as { stdout?: string }).stdout)}`, { cause: err });
    }
  }

  it("lists stream info, consumer info and stream view for the work stream, and stream info for the dead letters", () => {
    const commands = runbookCommands();
    expect(commands.map((c) => c.split(" ").slice(1, 3).join(" "))).toEqual(["stream info", "consumer info", "stream view", "stream info"]);
  });

  it("each one runs and shows what the README says it shows", async () => {
    const [streamInfo, consumerInfo, streamView, dlqInfo] = runbookCommands();
    const info = await run(streamInfo!);
    expect(info).toContain(`Information for Stream ${cfg.stream}`);
    expect(info).toMatch(/Retention: WorkQueue/);
    expect(info).toMatch(/Messages: 2\b/);
    if (q.server.compression) expect(info).toMatch(/Compression: S2/i);

    const consumer = await run(consumerInfo!);
    expect(consumer).toContain(`Information for Consumer ${cfg.stream} > ${cfg.consumer}`);
    expect(consumer).toMatch(/Unprocessed Messages: 2\b/);
    expect(consumer).toMatch(/Outstanding Acks: 0\b/);

    const view = await run(streamView!);
    expect(view).toContain(`Subject: ${cfg.subjectPrefix}.telnyx.message_finalized`);
    expect(view).toContain(`Subject: ${cfg.subjectPrefix}.resend.email_delivered`);
    expect(view).toContain("Nats-Msg-Id: resend:runbook-2");

    const dead = await run(dlqInfo!);
    expect(dead).toContain(`Information for Stream ${dlq.stream}`);
    expect(dead).toMatch(/Messages: 0\b/);
  });
});
