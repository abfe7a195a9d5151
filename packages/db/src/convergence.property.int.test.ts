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

/**
 * Three messages: m0 a single send stored without an address (its events carry none), m1 a single
 * send stored with one (its events carry any address: a lone row takes them all), m2 a group send
 * of three rows whose events address one of them in another spelling, or nobody (parked).
 */
const GROUP_ROWS = ["+1 555 000 0001", "+15550000002", "15550000003"];
const EVENT_ADDRESSES = ["+15550000001", "+1-555-000-0002", "(1) 5550000003", "+15550000009", ""];
const isParked = (e: { message: number; address: number }) => e.message === 2 && e.address >= 3;

/** Distinct events (unique ids) over those messages, with few timestamps so ties are common. */
const eventSet = fc.uniqueArray(
  fc.record({
    id: fc.string({ minLength: 1, maxLength: 3, unit: fc.constantFrom("a", "b", "c", "d", "é", "Z") }),
    message: fc.integer({ min: 0, max: 2 }),
    address: fc.integer({ min: 0, max: EVENT_ADDRESSES.length - 1 }),
    status: fc.constantFrom<DeliveryStatus>(...STATUSES),
    dt: fc.integer({ min: 0, max: 4 }),
    code: fc.option(fc.constantFrom("421", "550", "30007"), { nil: null }),
  }),
  { minLength: 1, maxLength: 14, selector: (e) => e.id },
);

let run = 0;

it("random streams with duplicates and random batch splits end as the same events applied sorted in one batch (single and group sends)", async () => {
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
        const rowMessages = [messages[0]!, messages[1]!, ...GROUP_ROWS.map(() => messages[2]!)];
        const rowAddresses = [null, "one@example.com", ...GROUP_ROWS];
        await db.pool.query(
          `INSERT INTO recipients (id, batch_id, provider, provider_message_id, address)
           SELECT p || '-' || m || '-' || i, $1, p, m, a
             FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(m, a, i), unnest(ARRAY['stream', 'sorted']) AS p`,
          [batch, rowMessages, rowAddresses],
        );
        const toEvent = (provider: string) => (e: (typeof events)[number]): NormalizedEvent =>
          makeEvent({
            provider,
            providerEventId: `${tag}-${e.id}`,
            providerMessageId: messages[e.message]!,
            recipient: e.message === 0 ? "" : EVENT_ADDRESSES[e.address]!,
            status: e.status,
            occurredAt: T0 + e.dt,
            errorCode: e.code,
          });
        const streamed = stream.map(toEvent("stream"));
        const matching = events.filter((e) => !isParked(e)).length;
        let applied = 0;
        let parked = 0;
        for (let i = 0, k = 0; i < streamed.length; k++) {
          const n = splits[k % splits.length]!;
          const r = await applyEvents(db, streamed.slice(i, i + n));
          applied += r.applied;
          parked += r.parked;
          i += n;
          expect(await checkInvariant(db, [batch])).toEqual([]);
        }
        expect([applied, parked]).toEqual([matching, events.length - matching]);
        const sorted = [...events].sort((a, b) => a.dt - b.dt || (a.id < b.id ? -1 : 1)).map(toEvent("sorted"));
        expect(await applyEvents(db, sorted)).toMatchObject({ applied: matching, parked: events.length - matching });
        const { rows } = await db.pool.query(
          `SELECT provider, provider_message_id, address, status, status_event_at, status_event_id, error_code, error_message,
                  queued_at, sent_at, delivered_at, delayed_at, failed_at, bounced_at, complained_at,
                  unsubscribed_at, unknown_at, opened_at, clicked_at
             FROM recipients WHERE batch_id = $1 ORDER BY provider_message_id, floodgate_address_key(address), provider`,
          [batch],
        );
        expect(rows).toHaveLength(2 * rowMessages.length);
        for (let i = 0; i < rows.length; i += 2) {
          const { provider: _a, ...sortedRow } = rows[i];
          const { provider: _b, ...streamRow } = rows[i + 1];
          expect(streamRow).toEqual(sortedRow);
        }
        // Each group row took exactly its own recipient's events; the others wait, the same ones.
        for (const [k, address] of GROUP_ROWS.entries()) {
          const own = events.filter((e) => e.message === 2 && e.address === k).map((e) => `${tag}-${e.id}`);
          const { rows: r } = await db.pool.query(
            `SELECT status_event_id FROM recipients WHERE provider = 'sorted' AND provider_message_id = $1 AND address = $2`,
            [messages[2], address],
          );
          if (own.length === 0) expect(r[0].status_event_id).toBeNull();
          else expect(own).toContain(r[0].status_event_id);
        }
        const { rows: waiting } = await db.pool.query(
          `SELECT provider, array_agg(provider_event_id ORDER BY provider_event_id) AS ids
             FROM parked_events WHERE provider_event_id LIKE $1 || '-%' GROUP BY provider ORDER BY provider`,
          [tag],
        );
        const expectedParked = events.filter(isParked).map((e) => `${tag}-${e.id}`).sort();
        expect(waiting.map((w) => [w.provider, [...(w.ids as string[])].sort()])).toEqual(
          expectedParked.length === 0 ? [] : [["sorted", expectedParked], ["stream", expectedParked]],
        );
        expect(await checkInvariant(db, [batch])).toEqual([]);
      },
    ),
    { numRuns: 60, seed: 20261128 },
  );
});
