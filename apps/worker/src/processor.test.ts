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

function setup(apply: (events: NormalizedEvent[]) => Promise<ApplyResult>, extra: { stopping?: () => boolean; deadLetterFails?: boolean } = {}) {
  const dead: { id: string; reason: string; error: string; only?: string[] }[] = [];
  const applied: string[][] = [];
  const breaker = circuitBreaker(handleWhen(isDatabaseUnavailable), { halfOpenAfter: 5, breaker: new ConsecutiveBreaker(2) });
  const flush = createProcessor<FakeMsg>({
    async apply(events) {
      const r = await apply(events);
      applied.push(events.map((e) => e.providerEventId));
      return r;
    },
    async deadLetter(m, why, only) {
      if (extra.deadLetterFails) throw new Error("dlq stream full");
      dead.push({ id: m.id, ...why, ...(only ? { only: only.map((e) => e.providerEventId) } : {}) });
      m.term();
    },
    breaker,
    retries: 3,
    backoff: { baseMs: 1000, maxMs: 60_000 },
    maxDeliveries: 8,
    stopping: extra.stopping ?? (() => false),
    log: { warn: () => {}, error: () => {} },
    sleep: () => new Promise((r) => setTimeout(r, 1)),
  });
  return { flush, dead, applied, breaker };
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
    const { flush } = setup(async () => Promise.reject(Object.assign(new Error("down"), { code: "57P01" })), { stopping: () => true });
    const msgs = [msg("f1")];
    await flush(msgs);
    expect(msgs[0]!.disposition).toMatch(/^nak:/);
  });

  it("keeps a message in the work queue when the dead-letter stream refuses it", async () => {
    const { flush } = setup(async (e) => ok(e.length), { deadLetterFails: true });
    const msgs = [msg("g1", 1, new Uint8Array([9, 9]))];
    await flush(msgs);
    expect(msgs[0]!.disposition).toBe("nak:60000");
  });

  it("dead-letters a message stuck in a crash loop before touching it", async () => {
    const { flush, dead, applied } = setup(async (e) => ok(e.length));
    await flush([msg("h1", 9)]);
    expect(dead).toMatchObject([{ id: "h1", reason: "max_deliveries" }]);
    expect(applied).toEqual([]);
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
