#!/usr/bin/env node
/**
 * floodgate-dlq: inspect and act on dead letters (the same operations as the admin API).
 *
 *   list    [--provider P] [--type T] [--reason R] [--since ISO] [--until ISO] [--limit N] [--json]
 *   show    SEQ
 *   replay  SEQ                   events go back on the work queue; a raw (verified, unmapped)
 *                                 webhook is run through the current provider plugins
 *   replay-all [filters]          replays every dead letter matching the filters that exists
 *                                 when it starts
 *   purge   SEQ | [filters] [--all]
 *
 * Reads NATS_URL, WEBHOOK_STREAM and WEBHOOK_SUBJECT_PREFIX like the worker.
 */
import { parseArgs } from "node:util";
import { connectQueue, deadLetterConfigFor, ensureDeadLetterStream, queueConfigFromEnv } from "@floodgate/queue";
import { createDeadLetterOps, DeadLetterRequestError, filterFrom } from "./dead-letters.js";

const USAGE = "usage: floodgate-dlq list|show SEQ|replay SEQ|replay-all|purge [SEQ] [--provider P --type T --reason R --since ISO --until ISO --limit N --all --json]";

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      provider: { type: "string" },
      type: { type: "string" },
      reason: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      limit: { type: "string", default: "50" },
      all: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const [command, arg] = positionals;
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  const seqArg = () => {
    if (!arg || !/^\d+$/.test(arg)) throw new DeadLetterRequestError(`${command} needs a dead-letter sequence number`);
    return Number(arg);
  };
  const queueConfig = queueConfigFromEnv(process.env);
  const dlq = deadLetterConfigFor(queueConfig);
  // Says so on stderr while NATS cannot be reached, instead of hanging silently.
  const log = { info() {}, warn: (_: object, msg?: string) => console.error(`floodgate-dlq: ${msg ?? ""}`), error: (_: object, msg?: string) => console.error(`floodgate-dlq: ${msg ?? ""}`) };
  const queue = await connectQueue({ servers: (process.env.NATS_URL ?? "nats://127.0.0.1:4222").split(","), name: "floodgate-dlq-cli", log, waitLogIntervalMs: 5_000 });
  try {
    await ensureDeadLetterStream(queue.jsm, dlq);
    const ops = createDeadLetterOps(queue, dlq);
    const filter = filterFrom(values);
    switch (command) {
      case "list": {
        const items = await ops.list(filter, Number(values.limit));
        if (values.json) console.log(JSON.stringify(items, null, 2));
        else {
          console.log(`${await ops.count()} dead letter(s) in ${dlq.stream}; showing ${items.length}`);
          console.table(
            items.map((d) => ({ seq: d.seq, deadAt: d.deadAt, provider: d.provider, type: d.type, reason: d.reason, attempts: d.attempts, events: d.kind === "raw" ? "raw" : (d.events?.length ?? "undecodable"), error: d.error.slice(0, 60) })),
          );
        }
        return 0;
      }
      case "show": {
        const d = await ops.get(seqArg());
        if (!d) {
          console.error(`no dead letter ${arg}`);
          return 1;
        }
        console.log(JSON.stringify(d, null, 2));
        return 0;
      }
      case "replay": {
        const result = await ops.replay(seqArg());
        if (result === "still_unmapped") console.log(`${arg}: still_unmapped (the current provider plugin cannot map it yet; kept as a new dead letter with its error)`);
        else console.log(`${arg}: ${result}`);
        return result === "replayed" ? 0 : 1;
      }
      case "replay-all": {
        const { replayed, stillUnmapped } = await ops.replayMatching(filter);
        console.log(`replayed ${replayed.length} dead letter(s)${replayed.length ? `: ${replayed.join(", ")}` : ""}`);
        if (stillUnmapped.length) console.log(`${stillUnmapped.length} still cannot be mapped (kept with the new error): ${stillUnmapped.join(", ")}`);
        return 0;
      }
      case "purge": {
        const purged = arg ? await ops.purge(seqArg()) : await ops.purge(filter, values.all);
        console.log(`purged ${purged} dead letter(s)`);
        return 0;
      }
      default:
        console.error(USAGE);
        return 2;
    }
  } finally {
    await queue.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`floodgate-dlq: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof DeadLetterRequestError ? 2 : 1);
  },
);
