#!/usr/bin/env node
// Quick benchmark of the hot path, not a test: `pnpm --filter @floodgate/db bench`.
// Creates a throw-away database, N recipients, applies EVENTS events in batches of each size (one
// flush at a time, then CONCURRENCY flushes at once, as the worker does) and prints events/s.
import type { DeliveryStatus, NormalizedEvent } from "@floodgate/provider-kit";
import { applyEvents } from "../apply-events.js";
import { createDb } from "../db.js";
import { checkInvariant } from "../invariant.js";
import { createTestDatabase } from "../testing/index.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 50_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const SIZES = (process.env.BENCH_SIZES ?? "100,1000").split(",").map(Number);
const STATUSES: DeliveryStatus[] = ["sent", "delivered", "opened", "clicked", "bounced", "delayed"];

const t = await createTestDatabase();
const db = createDb({ databaseUrl: t.url, max: CONCURRENCY + 1 });
try {
  await db.pool.query(`INSERT INTO batches (id) SELECT 'b' || i FROM generate_series(0, 99) AS i`);
  await db.pool.query(
    `INSERT INTO recipients (id, batch_id, provider, provider_message_id)
     SELECT 'r' || i, 'b' || (i % 100), 'bench', 'm' || i FROM generate_series(0, $1 - 1) AS i`,
    [RECIPIENTS],
  );
  await db.pool.query("VACUUM ANALYZE");
  let run = 0;
  const makeEvents = (): NormalizedEvent[] => {
    run++;
    return Array.from({ length: EVENTS }, (_, i) => ({
      provider: "bench",
      providerEventId: `run${run}-e${i}`,
      providerMessageId: `m${(i * 7919) % RECIPIENTS}`,
      recipient: "",
      type: "bench",
      status: STATUSES[(i + run) % STATUSES.length]!,
      rawStatus: "bench",
      occurredAt: 1_800_000_000_000 + i,
      errorCode: null,
      errorMessage: null,
    }));
  };
  for (const size of SIZES) {
    for (const concurrency of [1, CONCURRENCY]) {
      const events = makeEvents();
      const batches: NormalizedEvent[][] = [];
      for (let i = 0; i < events.length; i += size) batches.push(events.slice(i, i + size));
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < batches.length) await applyEvents(db, batches[next++]!);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `batch ${String(size).padStart(5)}  flushes in parallel ${concurrency}:  ${Math.round(EVENTS / seconds).toLocaleString("en-US")} events/s  (${EVENTS} events in ${seconds.toFixed(2)} s)`,
      );
    }
  }
  const violations = await checkInvariant(db);
  console.log(violations.length === 0 ? "invariant holds" : `INVARIANT BROKEN: ${JSON.stringify(violations.slice(0, 5))}`);
} finally {
  await db.close();
  await t.drop();
}
