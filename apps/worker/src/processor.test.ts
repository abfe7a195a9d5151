import type { ApplyResult } from "@floodgate/db";
import { encodeEvents, type NormalizedEvent } from "@floodgate/provider-kit";
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "./failures.js";
import { createProcessor, type Message } from "./processor.js";

interface FakeMsg extends Message {
  id: string;
  disposition?: string;
}

function event(id: string): NormalizedEvent {
  return { provider: "p", providerEventId: id, providerMessageId: `m-${id}`, recipient: "", type: "t", status: "delivered", rawStatus: "delivered", occurredAt: 1, errorCode: null, errorMessage: null };
}

function grouped(id: string, eventIds: string[], deliveryCount = 1): FakeMsg {
  return msg(id, deliveryCount, encodeEvents(eventIds.map(event)));
}

function msg(id: string, deliveryCount = 1, data?: Uint8Array): FakeMsg {
  const m: FakeMsg = {
    id,
    data: data ?? encodeEvents([event(id)]),
    seq: Number(id.replace(/\D/g, "")) || 0,
    subject: "webhook.p.t",
    info: { deliveryCount, timestampNanos: 0 },
    ack: () => void (m.disposition = "ack"),
    nak: (delay?: number) => void (m.disposition = `nak:${delay ?? 0}`),
    term: () => void (m.disposition = "term"),
  } as FakeMsg;
  return m;
}

const ok = (n: number): ApplyResult => ({ applied: n, duplicates: 0, parked: 0, unchanged: 0, invalid: 0, byType: [{ provider: "p", type: "t", applied: n, duplicates: 0, parked: 0, invalid: 0 }] });

function setup(apply: (events: NormalizedEvent[]) => Promise<ApplyResult>, extra: { stopped?: boolean; deadLetterFailures?: number } = {}) {
  const dead: { id: string; reason: string; error: string; only?: string[] }[] = [];
  const applied: string[][] = [];
  const settled: string[] = [];
  const conflicts: string[] = [];
  let dlqFailures = extra.deadLetterFailures ?? 0;
  const breaker = circuitBreaker(handleWhen(isDatabaseUnavailable), { halfOpenAfter: 5, breaker: new ConsecutiveBreaker(2) });
  const processor = createProcessor<FakeMsg>({
    async apply(events) {
      const r = await apply(events);
      applied.push(events.map((e) => e.providerEventId));
      return r;
    },
    async deadLetter(m, why, only) {
      if (dlqFailures-- > 0) throw new Error("maximum messages exceeded");
      dead.push({ id: m.id, ...why, ...(only ? { only: only.map((e) => e.providerEventId) } : {}) });
      m.term();
    },
    breaker,
    retries: 3,
    backoff: { baseMs: 1000, maxMs: 60_000 },
    maxDeliver: 9,
    settled: (m) => settled.push(m.id),
    onConflict: (err) => conflicts.push(String((err as { code?: unknown }).code)),
    log: { warn: () => {}, error: () => {} },
    sleep: () => new Promise((r) => setTimeout(r, 1)),
  });
  if (extra.stopped) processor.stop();
  return { flush: processor.flush, processor, dead, applied, breaker, settled, conflicts };
}

describe("batch processor", () => {
  it("applies a batch in one call and acks every message after it", async () => {
    const { flush, applied } = setup(async (e) => ok(e.length));
    const msgs = [msg("a1"), msg("a2"), msg("a3")];
    await flush(msgs);
    expect(applied).toEqual([["a1", "a2", "a3"]]);
    expect(msgs.map((m) => m.disposition)).toEqual(["ack", "ack", "ack"]);
  });

  it("dead-letters undecodable bytes at once and still applies the rest", async () => {
    const { flush, dead, applied } = setup(async (e) => ok(e.length));
    const msgs = [msg("b1"), msg("b2", 1, new Uint8Array([0xff, 0x00, 0x01])), msg("b3")];
    await flush(msgs);
    expect(dead).toMatchObject([{ id: "b2", reason: "undecodable" }]);
    expect(applied).toEqual([["b1", "b3"]]);
    expect(msgs.map((m) => m.disposition)).toEqual(["ack", "term", "ack"]);
  });

  it("isolates a poison event by splitting: the good ones commit, the bad one is retried with backoff", async () => {
    const poison = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: "22021" });
    const { flush, applied, dead } = setup(async (events) => {
      if (events.some((e) => e.providerEventId === "c7")) throw poison;
      return ok(events.length);
    });
    const msgs = Array.from({ length: 10 }, (_, i) => msg(`c${i}`));
    await flush(msgs);
    expect(applied.flat().sort()).toEqual(["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c8", "c9"]);
    expect(msgs.filter((m) => m.disposition === "ack")).toHaveLength(9);
    expect(msgs[7]!.disposition).toMatch(/^nak:(\d+)$/);
    const delay = Number(msgs[7]!.disposition!.split(":")[1]);
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThanOrEqual(1000);
    expect(dead).toEqual([]);
  });

  it("dead-letters the culprit once its retries are used up, with the last error", async () => {
    const { flush, dead } = setup(async (events) => {
      if (events.some((e) => e.providerEventId === "d2")) throw Object.assign(new Error("bad"), { code: "22021" });
      return ok(events.length);
    });
    const msgs = [msg("d1"), msg("d2", 4), msg("d3")];
    await flush(msgs);
    expect(dead).toEqual([{ id: "d2", reason: "apply_failed", error: "Error 22021: bad" }]);
    expect(msgs.map((m) => m.disposition)).toEqual(["ack", "term", "ack"]);
  });

  it("holds the batch while the database is down, without using up attempts, then applies it", async () => {
    let calls = 0;
    const { flush, breaker, dead } = setup(async (e) => {
      if (++calls <= 4) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      return ok(e.length);
    });
    let opened = false;
    breaker.onBreak(() => (opened = true));
    const msgs = [msg("e1", 3), msg("e2", 3)];
    await flush(msgs);
    expect(opened).toBe(true);
    expect(msgs.map((m) => m.disposition)).toEqual(["ack", "ack"]);
    expect(dead).toEqual([]);
  });

  it("on shutdown during an outage, hands the batch back instead of waiting", async () => {
    const { flush } = setup(async () => Promise.reject(Object.assign(new Error("down"), { code: "57P01" })), { stopped: true });
    const msgs = [msg("f1")];
    await flush(msgs);
    expect(msgs[0]!.disposition).toMatch(/^nak:/);
  });

  it("a shutdown wakes a batch held for the database at once and hands it back", async () => {
    const { processor } = setup(async () => Promise.reject(Object.assign(new Error("down"), { code: "ECONNREFUSED" })));
    const msgs = [msg("f2")];
    const done = processor.flush(msgs);
    await new Promise((r) => setTimeout(r, 20));
    expect(msgs[0]!.disposition).toBeUndefined(); // held, not nak'ed
    processor.stop();
    await done;
    expect(msgs[0]!.disposition).toMatch(/^nak:/);
  });

  it("treats a read-only database, revoked permissions or a rotated password as an outage, never as bad data", async () => {
    for (const code of ["25006", "42501", "28P01", "57014", "42P01"]) {
      let calls = 0;
      const { flush, dead } = setup(async (e) => {
        if (++calls <= 3) throw Object.assign(new Error(code), { code });
        return ok(e.length);
      });
      const msgs = [msg("k1", 3), msg("k2", 3), msg("k3", 3)];
      await flush(msgs);
      expect(msgs.map((m) => m.disposition)).toEqual(["ack", "ack", "ack"]);
      expect(dead).toEqual([]);
    }
  });

  it("retries deadlocks and serialization failures without counting them, however many there are", async () => {
    let calls = 0;
    const { flush, dead, conflicts } = setup(async (e) => {
      if (++calls <= 12) throw Object.assign(new Error("deadlock detected"), { code: calls % 2 ? "40P01" : "40001" });
      return ok(e.length);
    });
    const msgs = [msg("l1", 3)];
    await flush(msgs);
    expect(msgs[0]!.disposition).toBe("ack");
    expect(dead).toEqual([]);
    // Each one is reported (webhook_batch_conflicts_total), so a test or an alert can see them.
    expect(conflicts).toEqual(["40P01", "40001", "40P01", "40001", "40P01", "40001", "40P01", "40001", "40P01", "40001", "40P01", "40001"]);
  });

  it("keeps a message in progress while the dead-letter stream refuses it, and stores it once it accepts", async () => {
    const { processor, dead, settled } = setup(async (e) => ok(e.length), { deadLetterFailures: 3 });
    const msgs = [msg("g1", 1, new Uint8Array([9, 9]))];
    await processor.flush(msgs); // returns at once: the batch slot is not blocked by the retries
    expect(processor.deadLettersPending).toBe(1);
    expect(settled).toEqual([]); // still held: its ack timer is kept alive, never nak'ed
    await processor.idle();
    expect(dead).toMatchObject([{ id: "g1", reason: "undecodable" }]);
    expect(msgs[0]!.disposition).toBe("term");
    expect(settled).toEqual(["g1"]);
  });

  it("on shutdown, a message the dead-letter stream refuses is nak'ed, except on its last delivery", async () => {
    const { processor, settled } = setup(async (e) => ok(e.length), { deadLetterFailures: 1000 });
    const early = msg("g2", 1, new Uint8Array([9, 9]));
    const last = msg("g3", 9);
    await processor.flush([early, last]);
    expect(processor.deadLettersPending).toBe(2);
    processor.stop();
    await processor.idle();
    expect(early.disposition).toMatch(/^nak:/);
    // A nak on the last delivery would strand it: it is left for the stranded-message sweeper.
    expect(last.disposition).toBeUndefined();
    expect(settled.sort()).toEqual(["g2", "g3"]);
  });

  it("dead-letters a message on its last allowed delivery before touching it", async () => {
    const { flush, dead, applied } = setup(async (e) => ok(e.length));
    await flush([msg("h1", 9)]);
    expect(dead).toMatchObject([{ id: "h1", reason: "max_deliveries" }]);
    expect(applied).toEqual([]);
    const { flush: flush2, dead: dead2 } = setup(async (e) => ok(e.length));
    await flush2([msg("h2", 8)]);
    expect(dead2).toEqual([]);
  });

  it("in a grouped message, applies every event but the culprit and retries the message", async () => {
    const committed = new Set<string>();
    const { flush, dead } = setup(async (events) => {
      if (events.some((e) => e.providerEventId === "x3")) throw Object.assign(new Error("bad"), { code: "22021" });
      for (const e of events) committed.add(e.providerEventId);
      return ok(events.length);
    });
    const m = grouped("i1", ["x1", "x2", "x3", "x4", "x5"]);
    const other = msg("i2");
    await flush([m, other]);
    expect([...committed].sort()).toEqual(["i2", "x1", "x2", "x4", "x5"]);
    expect(other.disposition).toBe("ack");
    expect(m.disposition).toMatch(/^nak:/);
    expect(dead).toEqual([]);
  });

  it("dead-letters only the culprit of a grouped message once retries are used up, and settles the message", async () => {
    const { flush, dead } = setup(async (events) => {
      if (events.some((e) => e.providerEventId === "y2")) throw Object.assign(new Error("bad"), { code: "22021" });
      return ok(events.length);
    });
    const m = grouped("j1", ["y1", "y2", "y3"], 4);
    await flush([m]);
    expect(dead).toEqual([{ id: "j1", reason: "apply_failed", error: "Error 22021: bad", only: ["y2"] }]);
    expect(m.disposition).toBe("term");
  });
});
