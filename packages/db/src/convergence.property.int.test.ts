import type { DeliveryStatus, NormalizedEvent } from "@floodgate/provider-kit";
import { STATUSES } from "@floodgate/provider-kit";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { applyEvents } from "./apply-events.js";
import { createDb, type Db } from "./db.js";
import { checkInvariant } from "./invariant.js";
import { createTestDatabase, makeEvent, type TestDatabase } from "./testing/index.js";

let t: TestDatabase;
let db: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  db = createDb({ databaseUrl: t.url, max: 4 });
});
afterEach(async () => {
  expect(await checkInvariant(db)).toEqual([]);
});
afterAll(async () => {
  await db?.close();
  await t?.drop();
});

const T0 = Date.UTC(2026, 0, 1);

/** Distinct events (unique ids) over 3 recipients, with few timestamps so ties are common. */
const eventSet = fc.uniqueArray(
  fc.record({
    id: fc.string({ minLength: 1, maxLength: 3, unit: fc.constantFrom("a", "b", "c", "d", "é", "Z") }),
    recipient: fc.integer({ min: 0, max: 2 }),
    status: fc.constantFrom<DeliveryStatus>(...STATUSES),
    dt: fc.integer({ min: 0, max: 4 }),
    code: fc.option(fc.constantFrom("421", "550", "30007"), { nil: null }),
  }),
  { minLength: 1, maxLength: 14, selector: (e) => e.id },
);

let run = 0;

it("random streams with duplicates and random batch splits end as the same events applied sorted in one batch", async () => {
  await fc.assert(
    fc.asyncProperty(
      eventSet.chain((events) =>
        fc.tuple(
          fc.constant(events),
          // The stream: every event at least once, some several times, in any order.
          fc.shuffledSubarray(events.flatMap((e) => [e, e, e]), { minLength: events.length * 3, maxLength: events.length * 3 }).chain((all) =>
            fc.tuple(fc.subarray(all.slice(events.length)), fc.constant(events)).map(([extra, base]) => [...base, ...extra]),
          ).chain((stream) => fc.shuffledSubarray(stream, { minLength: stream.length, maxLength: stream.length })),
          fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
        ),
      ),
      async ([events, stream, splits]) => {
        const tag = `run${++run}`;
        const batch = `b-${tag}`;
        const messages = [0, 1, 2].map((i) => `${tag}-m${i}`);
        await db.pool.query(`INSERT INTO batches (id) VALUES ($1)`, [batch]);
        await db.pool.query(
          `INSERT INTO recipients (id, batch_id, provider, provider_message_id)
           SELECT p || '-' || m, $1, p, m FROM unnest($2::text[]) AS m, unnest(ARRAY['stream', 'sorted']) AS p`,
          [batch, messages],
        );
        const toEvent = (provider: string) => (e: (typeof events)[number]): NormalizedEvent =>
          makeEvent({
            provider,
            providerEventId: `${tag}-${e.id}`,
            providerMessageId: messages[e.recipient]!,
            status: e.status,
            occurredAt: T0 + e.dt,
            errorCode: e.code,
          });
        const streamed = stream.map(toEvent("stream"));
        let applied = 0;
        for (let i = 0, k = 0; i < streamed.length; k++) {
          const n = splits[k % splits.length]!;
          applied += (await applyEvents(db, streamed.slice(i, i + n))).applied;
          i += n;
          expect(await checkInvariant(db, [batch])).toEqual([]);
        }
        expect(applied).toBe(events.length);
        const sorted = [...events].sort((a, b) => a.dt - b.dt || (a.id < b.id ? -1 : 1)).map(toEvent("sorted"));
        expect((await applyEvents(db, sorted)).applied).toBe(events.length);
        const { rows } = await db.pool.query(
          `SELECT provider, provider_message_id, status, status_event_at, status_event_id, error_code, error_message,
                  queued_at, sent_at, delivered_at, delayed_at, failed_at, bounced_at, complained_at,
                  unsubscribed_at, unknown_at, opened_at, clicked_at
             FROM recipients WHERE batch_id = $1 ORDER BY provider_message_id, provider`,
          [batch],
        );
        for (let i = 0; i < rows.length; i += 2) {
          const { provider: _a, ...sortedRow } = rows[i];
          const { provider: _b, ...streamRow } = rows[i + 1];
          expect(streamRow).toEqual(sortedRow);
        }
        expect(await checkInvariant(db, [batch])).toEqual([]);
      },
    ),
    { numRuns: 60, seed: 20261128 },
  );
});
