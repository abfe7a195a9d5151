import { describe, expect, it } from "vitest";
import { createGroupingPublisher } from "./grouping-publisher.js";
import { QueueFullError, QueueMessageTooLargeError } from "./errors.js";
import type { Publisher } from "./publisher.js";

function fakePublisher(fail?: (subject: string) => Error | undefined) {
  const sent: { subject: string; data: string; msgId: string }[] = [];
  const publisher: Publisher = {
    async publish(subject, data, msgId) {
      const err = fail?.(subject);
      if (err) throw err;
      sent.push({ subject, data: Buffer.from(data).toString(), msgId });
      return { seq: sent.length, duplicate: false };
    },
    inFlight: 0,
    waiting: 0,
  };
  return { publisher, sent };
}

const encode = (items: string[]) => Buffer.from(items.join(","));

describe("grouping publisher", () => {
  it("publishes what callers add in one turn as one message per subject, and answers each after it is stored", async () => {
    const { publisher, sent } = fakePublisher();
    const g = createGroupingPublisher(publisher, { encode });
    const results = await Promise.all([g.publish("a", ["1"]), g.publish("a", ["2", "3"]), g.publish("b", ["x"]), g.publish("a", ["4"])]);
    expect(sent.map((s) => [s.subject, s.data])).toEqual([
      ["a", "1,2,3,4"],
      ["b", "x"],
    ]);
    expect(results.map((r) => r.seq)).toEqual([1, 1, 2, 1]);
    expect(sent.map((s) => s.msgId)).toEqual(["", ""]); // no dedup id for a group
    expect(g.stats).toEqual({ groups: 2, items: 5, splits: 0 });
  });

  it("starts a new group once one is full", async () => {
    const { publisher, sent } = fakePublisher();
    const g = createGroupingPublisher(publisher, { encode, maxItems: 2 });
    await Promise.all([g.publish("a", ["1"]), g.publish("a", ["2"]), g.publish("a", ["3"])]);
    expect(sent.map((s) => s.data)).toEqual(["1,2", "3"]);
  });

  it("rejects every caller of a group the queue refused, and no one else", async () => {
    const { publisher } = fakePublisher((subject) => (subject === "full" ? new QueueFullError("max_msgs", "full") : undefined));
    const g = createGroupingPublisher(publisher, { encode });
    const outcomes = await Promise.allSettled([g.publish("full", ["1"]), g.publish("full", ["2"]), g.publish("ok", ["3"])]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "fulfilled"]);
    expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError);
  });

  it("splits a group whose encoding would exceed the byte cap, so every message stays under it", async () => {
    const { publisher, sent } = fakePublisher();
    const g = createGroupingPublisher(publisher, { encode, maxBytes: 5 });
    const results = await Promise.all([g.publish("a", ["aa"]), g.publish("a", ["bb"]), g.publish("a", ["cc"])]);
    expect(sent.map((s) => s.data)).toEqual(["aa", "bb,cc"]);
    for (const s of sent) expect(Buffer.byteLength(s.data)).toBeLessThanOrEqual(5);
    expect(results.map((r) => r.seq)).toEqual([1, 2, 2]);
    expect(g.stats).toEqual({ groups: 2, items: 3, splits: 1 });
  });

  it("refuses a caller whose items alone exceed the cap with a clear error, and nothing else of its group fails", async () => {
    const { publisher, sent } = fakePublisher();
    const g = createGroupingPublisher(publisher, { encode, maxBytes: 5 });
    const outcomes = await Promise.allSettled([g.publish("a", ["aa"]), g.publish("a", ["x".repeat(10)]), g.publish("a", ["bb"]), g.publish("a", ["c"])]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    const err = (outcomes[1] as PromiseRejectedResult).reason as QueueMessageTooLargeError;
    expect(err).toBeInstanceOf(QueueMessageTooLargeError);
    expect(err).toMatchObject({ bytes: 10, limit: 5 });
    expect(err.message).toMatch(/10 bytes exceeds the 5-byte limit/);
    expect(sent.map((s) => s.data).sort()).toEqual(["aa", "bb,c"]);
  });
});
