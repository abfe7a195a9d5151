/**
 * Group messages: one provider message id, one recipient row per address (Telnyx group MMS,
 * e-mail to several addresses). See README.md, "How events find their recipient".
 */
import { readFileSync } from "node:fs";
import type { NormalizedEvent } from "@floodgate/provider-kit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { applyEvents } from "./apply-events.js";
import { createDb, type Db } from "./db.js";
import { checkInvariant } from "./invariant.js";
import { countParked, rematchParked } from "./parked.js";
import { createTestDatabase, makeEvent, type TestDatabase } from "./testing/index.js";

/** The provider plugin's own fixture: one finalized webhook, three numbers in `to`. */
const threeRecipients = JSON.parse(
  readFileSync(new URL("../../providers/telnyx/fixtures/finalized-three-recipients.json", import.meta.url), "utf8"),
) as { expected: { events: NormalizedEvent[] } };
const fixtureEvents = threeRecipients.expected.events;
const FIXTURE_MESSAGE_ID = fixtureEvents[0]!.providerMessageId;

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

let seq = 0;
const uniq = (label: string) => `${label}${++seq}`;

/** Inserts one message's rows the way the sending side does: one INSERT, one row per address. */
async function insertGroup(batchId: string, provider: string, messageId: string, addresses: (string | null)[]): Promise<string[]> {
  const ids = addresses.map((_, i) => `${messageId}-r${i}`);
  await db.pool.query(`INSERT INTO batches (id) VALUES ($1) ON CONFLICT DO NOTHING`, [batchId]);
  await db.pool.query(
    `INSERT INTO recipients (id, batch_id, provider, provider_message_id, address)
     SELECT id, $1, $2, $3, address FROM unnest($4::text[], $5::text[]) AS x(id, address)`,
    [batchId, provider, messageId, ids, addresses],
  );
  return ids;
}

async function rows(ids: string[]): Promise<Record<string, unknown>[]> {
  const { rows } = await db.pool.query(
    `SELECT id, address, status, error_code, error_message FROM recipients WHERE id = ANY ($1) ORDER BY id`,
    [ids],
  );
  return rows;
}

async function counters(batchId: string): Promise<Record<string, number>> {
  const { rows } = await db.pool.query(
    `SELECT total_count, queued_count, delivered_count, failed_count, unknown_count, sent_count FROM batches WHERE id = $1`,
    [batchId],
  );
  return rows[0];
}

describe("group messages", () => {
  it("the three-recipient Telnyx fixture against three inserted rows gives three statuses and counters of 3", async () => {
    const b = uniq("b");
    // The sending side's spelling differs from the webhook's: the key normalizes both.
    const ids = await insertGroup(b, "telnyx", FIXTURE_MESSAGE_ID, ["+15555550100", "+1 (555) 555-0101", "15555550102"]);
    expect(await applyEvents(db, fixtureEvents)).toMatchObject({ applied: 3, parked: 0, duplicates: 0, invalid: 0 });
    expect(await rows(ids)).toEqual([
      { id: ids[0], address: "+15555550100", status: "delivered", error_code: null, error_message: null },
      { id: ids[1], address: "+1 (555) 555-0101", status: "failed", error_code: "40002", error_message: "Blocked as spam by carrier" },
      { id: ids[2], address: "15555550102", status: "unknown", error_code: "40002", error_message: "Blocked as spam by carrier" },
    ]);
    expect(await counters(b)).toEqual({ total_count: 3, queued_count: 0, delivered_count: 1, failed_count: 1, unknown_count: 1, sent_count: 0 });
    // The provider retries the webhook: nothing changes.
    expect(await applyEvents(db, [...fixtureEvents].reverse())).toMatchObject({ applied: 0, duplicates: 3 });
    expect(await counters(b)).toMatchObject({ total_count: 3, delivered_count: 1, failed_count: 1, unknown_count: 1 });
  });

  it("events that arrive before the group's rows are parked, then each re-matched to its own row", async () => {
    const b = uniq("b");
    const m = uniq("m");
    const events = fixtureEvents.map((e) => ({ ...e, provider: "grp", providerEventId: `${m}:${e.recipient}`, providerMessageId: m }));
    expect(await applyEvents(db, events)).toMatchObject({ parked: 3, applied: 0 });
    const ids = await insertGroup(b, "grp", m, ["+1-555-555-0102", "+1 555 555 0100", "+1.555.555.0101"]);
    expect(await rematchParked(db)).toMatchObject({ matched: 3, applied: 3 });
    expect((await rows(ids)).map((r) => r.status)).toEqual(["unknown", "delivered", "failed"]);
    expect(await counters(b)).toMatchObject({ total_count: 3, delivered_count: 1, failed_count: 1, unknown_count: 1, queued_count: 0 });
    const { rows: left } = await db.pool.query(`SELECT count(*)::int AS n FROM parked_events WHERE provider_message_id = $1`, [m]);
    expect(left[0].n).toBe(0);
  });

  it("an event whose address matches none of the group's rows is parked, not applied to another row", async () => {
    const b = uniq("b");
    const m = uniq("m");
    const ids = await insertGroup(b, "grp", m, ["Ann@Example.com", "bob@example.com"]);
    const before = await countParked(db);
    const stranger = makeEvent({ provider: "grp", providerEventId: uniq("e"), providerMessageId: m, status: "bounced", recipient: "carol@example.com" });
    const noAddress = makeEvent({ provider: "grp", providerEventId: uniq("e"), providerMessageId: m, status: "bounced", recipient: "" });
    const ann = makeEvent({ provider: "grp", providerEventId: uniq("e"), providerMessageId: m, status: "delivered", recipient: " Ann <ANN@example.COM>" });
    expect(await applyEvents(db, [stranger, noAddress, ann])).toMatchObject({ applied: 1, parked: 2 });
    expect(await countParked(db)).toBe(before + 2);
    expect((await rows(ids)).map((r) => r.status)).toEqual(["delivered", "queued"]);
    // Nothing to re-match while no row has carol's address.
    expect(await rematchParked(db)).toMatchObject({ matched: 0 });
    // Her row arrives later (a late addition to the send): the parked event finds it.
    await db.pool.query(`INSERT INTO recipients (id, batch_id, provider, provider_message_id, address) VALUES ($1, $2, 'grp', $3, 'carol@example.com')`, [`${m}-carol`, b, m]);
    expect(await rematchParked(db)).toMatchObject({ matched: 1, applied: 1 });
    expect((await rows([`${m}-carol`]))[0]).toMatchObject({ status: "bounced", address: "carol@example.com" });
    expect(await countParked(db)).toBe(before + 1); // the event without an address still waits
    expect(await counters(b)).toMatchObject({ total_count: 3, delivered_count: 1, queued_count: 1 });
  });

  it("a message with one row matches every event whatever its address (single sends keep working)", async () => {
    const b = uniq("b");
    const [m1, m2] = [uniq("m"), uniq("m")];
    const [r1] = await insertGroup(b, "one", m1, [null]);
    const [r2] = await insertGroup(b, "one", m2, ["stored@example.com"]);
    const result = await applyEvents(db, [
      makeEvent({ provider: "one", providerEventId: uniq("e"), providerMessageId: m1, status: "sent", recipient: "+15550001111" }),
      makeEvent({ provider: "one", providerEventId: uniq("e"), providerMessageId: m2, status: "delivered", recipient: "other@example.org" }),
      makeEvent({ provider: "one", providerEventId: uniq("e"), providerMessageId: m2, status: "opened", recipient: "" }),
    ]);
    expect(result).toMatchObject({ applied: 3, parked: 0 });
    // An empty address is filled from the event, a stored one is kept.
    expect(await rows([r1!, r2!])).toEqual([
      { id: r1, address: "+15550001111", status: "sent", error_code: null, error_message: null },
      { id: r2, address: "stored@example.com", status: "delivered", error_code: null, error_message: null },
    ]);
  });

  it("refuses two rows of one message whose addresses normalize alike, or that both lack one", async () => {
    const b = uniq("b");
    const m = uniq("m");
    await insertGroup(b, "grp", m, ["+1 555 555 0100"]);
    await expect(insertGroup(b, "grp", m, ["15555550100"])).rejects.toMatchObject({ code: "23505" });
    await expect(insertGroup(b, "grp", uniq("m"), [null, "  "])).rejects.toMatchObject({ code: "23505" });
    await expect(insertGroup(b, "grp", uniq("m"), ["A@x.io", "a@X.IO"])).rejects.toMatchObject({ code: "23505" });
  });

  it("floodgate_address_key() normalizes exactly as documented", async () => {
    const cases: [string | null, string][] = [
      [null, ""],
      ["", ""],
      [" \t ", ""],
      ["+1 (555) 555-0100", "+15555550100"],
      ["15555550100", "+15555550100"],
      ["+1.555.555.0100", "+15555550100"],
      ["555/555 0100", "+5555550100"],
      ["  Jane.Doe@Example.COM ", "jane.doe@example.com"],
      ["Jane Doe <Jane.Doe@Example.com>", "jane.doe@example.com"],
      ["ÉLAN@Example.com", "Élan@example.com"],
      ["whatsapp:+1 555", "whatsapp:+1 555"],
      [" Short-Code ", "short-code"],
      ["++15555550100", "++15555550100"],
    ];
    const { rows: out } = await db.pool.query(`SELECT floodgate_address_key(a) AS k FROM unnest($1::text[]) WITH ORDINALITY AS x(a, i) ORDER BY i`, [
      cases.map(([a]) => a),
    ]);
    expect(out.map((r) => r.k)).toEqual(cases.map(([, k]) => k));
  });
});
