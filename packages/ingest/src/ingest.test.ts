import type { NormalizedEvent } from "@floodgate/provider-kit";
import { describe, expect, it } from "vitest";
import { createIngest, type DeadLetterStore, type EventPublisher, type IngestProvider, type IngestRequest, type UnmappedWebhook } from "./ingest.js";
import { OUTCOME_STATUS } from "./outcome.js";

const event = (over: Partial<NormalizedEvent> = {}): NormalizedEvent => ({
  provider: "fake",
  providerEventId: "evt-1",
  providerMessageId: "msg-1",
  recipient: "+15555550100",
  type: "message.finalized",
  status: "delivered",
  rawStatus: "delivered",
  occurredAt: 1_700_000_000_000,
  errorCode: null,
  errorMessage: null,
  ...over,
});

/** A provider whose verdict is chosen by the body text, so each outcome can be driven. */
const verified = { ok: true as const, id: "svix-1" };
const fakeProvider: IngestProvider = {
  id: "fake",
  scheme: "fake-hmac",
  handle({ body }) {
    const text = Buffer.from(body).toString();
    if (text === "forged") return { ok: false, reason: "mismatch", detail: "no signature matched" };
    if (text === "old") return { ok: false, reason: "timestamp_too_old", detail: "too old" };
    if (text === "new") return { ok: false, reason: "timestamp_too_new", detail: "too new" };
    if (text === "nohdr") return { ok: false, reason: "missing_header", detail: "missing" };
    if (text === "bad") return { ok: false, reason: "malformed", detail: "not JSON", verified };
    if (text === "weird") return { ok: false, reason: "unsupported_event", detail: "type x", verified };
    if (text === "unverified-bad") return { ok: false, reason: "malformed", detail: "no proof" };
    if (text === "mixed") {
      return { ok: true, id: "d-3", events: [event({ providerEventId: "c" })], unmapped: [{ reason: "unsupported_event", detail: "item 2: type y", body: Buffer.from("[2]") }, { reason: "malformed", detail: "item 3", body: Buffer.from("[3]") }], verified };
    }
    if (text === "all-unmapped") return { ok: true, id: "d-4", events: [], unmapped: [{ reason: "unsupported_event", detail: "type y", body: Buffer.from("[1]") }], verified };
    if (text === "none") return { ok: true, id: "d-0", events: [] };
    if (text === "two") return { ok: true, id: "d-2", events: [event({ providerEventId: "a" }), event({ providerEventId: "b", recipient: "+1" })] };
    return { ok: true, id: "d-1", events: [event()] };
  },
};

const kept: UnmappedWebhook[] = [];
const okStore: DeadLetterStore = {
  async keep(webhook) {
    kept.push(webhook);
  },
};

function setup(publisher: EventPublisher, deadLetters: DeadLetterStore = okStore) {
  const providers = new Map([["fake", fakeProvider]]);
  return createIngest({ providers, publisher, deadLetters, subjectFor: (p, t) => `webhook.${p}.${t.replace(/\./g, "_")}`, maxBodyBytes: 64 });
}

const req = (body: string, over: Partial<IngestRequest> = {}): IngestRequest => ({
  provider: "fake",
  body: Buffer.from(body),
  headers: { "content-type": "application/json" },
  url: "/webhooks/fake",
  method: "POST",
  ...over,
});

describe("createIngest", () => {
  const published: { subject: string; events: NormalizedEvent[]; msgId: string }[] = [];
  const okPublisher: EventPublisher = {
    async publish(subject, events, msgId) {
      published.push({ subject, events, msgId });
      return { duplicate: published.filter((p) => p.msgId === msgId).length > 1 };
    },
  };
  const ingest = setup(okPublisher);

  it("accepts a verified webhook only after publishing its encoded events under the delivery id", async () => {
    published.length = 0;
    const r = await ingest(req("two"));
    expect(r).toMatchObject({ outcome: "accepted", status: 202, provider: "fake", type: "message.finalized", events: 2, messageId: "fake:d-2" });
    expect(published).toHaveLength(1);
    expect(published[0]!.subject).toBe("webhook.fake.message_finalized");
    expect(published[0]!.events.map((e) => e.providerEventId)).toEqual(["a", "b"]);
    expect(published[0]!.msgId).toBe("fake:d-2");
  });

  it("answers a JetStream duplicate with 200 duplicate", async () => {
    published.length = 0;
    await ingest(req("one"));
    const r = await ingest(req("one"));
    expect(r).toMatchObject({ outcome: "duplicate", status: 200 });
  });

  it.each([
    ["forged", "invalid_signature", 401, "mismatch"],
    ["nohdr", "invalid_signature", 401, "missing_header"],
    ["old", "expired", 401, "timestamp_too_old"],
    ["new", "expired", 401, "timestamp_too_new"],
    ["unverified-bad", "malformed", 400, "malformed"],
  ])("maps a %s webhook to %s (%i) without publishing", async (body, outcome, status, reason) => {
    published.length = 0;
    const r = await ingest(req(body));
    expect(r).toMatchObject({ outcome, status, reason });
    expect(published).toHaveLength(0);
  });

  it.each([
    ["weird", "unsupported_event", "type x"],
    ["bad", "malformed", "not JSON"],
  ])("keeps a verified %s webhook the plugin cannot map in the dead letters, raw, and answers 202 once stored", async (body, reason, detail) => {
    published.length = 0;
    kept.length = 0;
    const r = await ingest(req(body, { headers: { "content-type": "application/json; charset=utf-8" } }));
    expect(r).toMatchObject({ outcome: "dead_lettered", status: 202, provider: "fake", reason, detail, messageId: "fake:svix-1" });
    expect(published).toHaveLength(0);
    expect(kept).toEqual([{ provider: "fake", reason, detail, body: Buffer.from(body), deliveryId: "svix-1", contentType: "application/json; charset=utf-8", verifiedBy: "fake-hmac" }]);
  });

  it("answers 503 (never 2xx) when the dead letters cannot store what it must keep, and 413 when it is too large for them", async () => {
    class QueueMessageTooLargeError extends Error {
      override name = "QueueMessageTooLargeError";
    }
    const down = setup(okPublisher, { keep: () => Promise.reject(new Error("no responders")) });
    expect(await down(req("weird"))).toMatchObject({ outcome: "queue_unavailable", status: 503 });
    expect(await down(req("mixed"))).toMatchObject({ outcome: "queue_unavailable", status: 503 });
    const huge = setup(okPublisher, { keep: () => Promise.reject(new QueueMessageTooLargeError("too big")) });
    expect(await huge(req("weird"))).toMatchObject({ outcome: "too_large", status: 413, reason: "QueueMessageTooLargeError" });
  });

  it("a multi-event webhook: publishes what maps, keeps each unmapped part, 2xx only when all are stored", async () => {
    published.length = 0;
    kept.length = 0;
    const r = await ingest(req("mixed"));
    expect(r).toMatchObject({ outcome: "accepted", status: 202, events: 1, unmapped: [{ reason: "unsupported_event" }, { reason: "malformed" }] });
    expect(published.map((p) => p.events.map((e) => e.providerEventId))).toEqual([["c"]]);
    expect(kept.map((k) => [k.reason, Buffer.from(k.body).toString(), k.deliveryId])).toEqual([
      ["unsupported_event", "[2]", "svix-1"],
      ["malformed", "[3]", "svix-1"],
    ]);
    kept.length = 0;
    expect(await ingest(req("all-unmapped"))).toMatchObject({ outcome: "dead_lettered", status: 202, reason: "unsupported_event", events: 0 });
    expect(kept).toHaveLength(1);
    const queueDown = setup({ publish: () => Promise.reject(new Error("no responders")) });
    expect(await queueDown(req("mixed"))).toMatchObject({ outcome: "queue_unavailable", status: 503 });
  });

  it("admits before the body is read: the provider first, then method, declared length, content type", () => {
    expect(ingest.admit({ provider: "nope", method: "DELETE", headers: { "content-length": "999999999" } })).toMatchObject({ outcome: "unknown_provider", status: 404 });
    expect(ingest.admit({ provider: "nope", method: "POST", headers: {} })!.provider).toBeUndefined();
    expect(ingest.admit({ provider: "fake", method: "GET", headers: {} })).toMatchObject({ outcome: "method_not_allowed", provider: "fake" });
    expect(ingest.admit({ provider: "fake", method: "POST", headers: { "content-length": "65" } })).toMatchObject({ outcome: "too_large", status: 413 });
    expect(ingest.admit({ provider: "fake", method: "POST", headers: { "content-type": "text/plain" } })).toMatchObject({ outcome: "unsupported_media_type" });
    expect(ingest.admit({ provider: "fake", method: "POST", headers: { "content-length": "64", "content-type": "application/json" } })).toBeUndefined();
  });

  it("acknowledges a verified webhook with no delivery events without publishing", async () => {
    published.length = 0;
    expect(await ingest(req("none"))).toMatchObject({ outcome: "ignored", status: 200, events: 0 });
    expect(published).toHaveLength(0);
  });

  it("rejects unknown providers, other methods, big bodies and foreign content types", async () => {
    expect(await ingest(req("one", { provider: "nope" }))).toMatchObject({ outcome: "unknown_provider", status: 404 });
    expect(await ingest(req("one", { method: "GET" }))).toMatchObject({ outcome: "method_not_allowed", status: 405 });
    expect(await ingest(req("x".repeat(65)))).toMatchObject({ outcome: "too_large", status: 413 });
    expect(await ingest(req("one", { headers: { "content-type": "text/plain" } }))).toMatchObject({ outcome: "unsupported_media_type", status: 415 });
    expect(await ingest(req("one", { headers: { "content-type": ["application/json", "text/plain"] } }))).toMatchObject({ outcome: "unsupported_media_type" });
    expect(await ingest(req("one", { headers: { "content-type": "Application/JSON; charset=utf-8" } }))).toMatchObject({ outcome: "accepted" });
  });

  it("answers 503 when the queue is full or unavailable, never 2xx", async () => {
    class QueueFullError extends Error {
      override name = "QueueFullError";
    }
    const full = setup({ publish: () => Promise.reject(new QueueFullError("maximum bytes exceeded")) });
    expect(await full(req("one"))).toMatchObject({ outcome: "queue_full", status: 503, reason: "QueueFullError" });
    const down = setup({ publish: () => Promise.reject(new Error("no responders")) });
    expect(await down(req("one"))).toMatchObject({ outcome: "queue_unavailable", status: 503 });
  });

  it("maps every outcome to exactly one HTTP status", () => {
    for (const status of Object.values(OUTCOME_STATUS)) expect(status).toBeGreaterThanOrEqual(200);
    expect(Object.keys(OUTCOME_STATUS)).toContain("queue_unavailable");
  });
});

describe("createIngest: provider shapes", () => {
  const stored: { events: NormalizedEvent[]; msgId: string }[] = [];
  const publisher: EventPublisher = {
    async publish(_subject, events, msgId) {
      stored.push({ events, msgId });
      return { duplicate: false };
    },
  };
  let released = 0;
  const shaped: IngestProvider = {
    id: "shaped",
    contentTypes: ["application/x-www-form-urlencoded"],
    methods: ["POST", "GET"],
    successStatus: 200,
    handle({ body, method }) {
      const text = Buffer.from(body).toString();
      if (method === "GET" && text === "") return { ok: false, reason: "unsupported_event", detail: "status x", verified: { id: undefined } };
      if (method === "GET") return { ok: true, id: "g", events: [event({ providerEventId: "g" })] };
      if (text === "later") return Promise.resolve({ ok: true, id: "l", events: [event({ providerEventId: "l" })] });
      if (text === "topic") return { ok: false, reason: "not_allowed", detail: "topic" };
      if (text === "cert-down") return Promise.resolve({ ok: false, reason: "key_unavailable", detail: "fetch failed" });
      if (text === "confirm-down") return { ok: false, reason: "handshake_failed", detail: "GET failed" };
      if (text === "replayed") return { ok: false, reason: "replayed", detail: "token" };
      if (text === "confirm") return { ok: true, id: "c", events: [], handshake: "SubscriptionConfirmation confirmed" };
      if (text === "many") return { ok: true, id: "b", events: Array.from({ length: 1201 }, (_, i) => event({ providerEventId: `e${i}` })) };
      return { ok: true, id: "t", events: [event()], release: () => released++ };
    },
  };
  const make = (p: EventPublisher) =>
    createIngest({ providers: new Map([["shaped", shaped]]), publisher: p, deadLetters: { keep: async () => undefined }, subjectFor: (a, b) => `${a}.${b}`, maxBodyBytes: 64 });
  const shapedReq = (body: string, over: Partial<IngestRequest> = {}) =>
    req(body, { provider: "shaped", headers: { "content-type": "application/x-www-form-urlencoded" }, url: "/webhooks/shaped", ...over });

  it("answers with the provider's own 2xx, keeps its methods and media types", async () => {
    const ingest = make(publisher);
    expect(await ingest(shapedReq("x"))).toMatchObject({ outcome: "accepted", status: 200 });
    expect(await ingest(shapedReq("q", { method: "GET", headers: {} }))).toMatchObject({ outcome: "accepted", status: 200 });
    expect(await ingest(shapedReq("x", { method: "PUT" }))).toMatchObject({ outcome: "method_not_allowed", status: 405 });
    expect(await ingest(shapedReq("x", { headers: { "content-type": "application/json" } }))).toMatchObject({ outcome: "unsupported_media_type" });
    expect(await ingest(shapedReq("confirm"))).toMatchObject({ outcome: "handshake", status: 200, detail: "SubscriptionConfirmation confirmed" });
  });

  it("keeps a verified GET it cannot map with its query as a form body, answered with the provider's 2xx", async () => {
    const kept: { body: Uint8Array; contentType?: string }[] = [];
    const ingest = createIngest({
      providers: new Map([["shaped", shaped]]),
      publisher,
      deadLetters: { keep: async (w) => void kept.push(w) },
      subjectFor: (a, b) => `${a}.${b}`,
      maxBodyBytes: 64,
    });
    expect(await ingest(shapedReq("", { method: "GET", headers: {}, url: "/webhooks/shaped?messageId=m&status=x" }))).toMatchObject({ outcome: "dead_lettered", status: 200 });
    expect(kept.map((k) => [Buffer.from(k.body).toString(), k.contentType])).toEqual([["messageId=m&status=x", "application/x-www-form-urlencoded"]]);
  });

  it("awaits a provider that verifies asynchronously", async () => {
    expect(await make(publisher)(shapedReq("later"))).toMatchObject({ outcome: "accepted", events: 1 });
  });

  it.each([
    ["topic", "forbidden", 403],
    ["cert-down", "upstream_unavailable", 503],
    ["confirm-down", "upstream_unavailable", 503],
    ["replayed", "invalid_signature", 401],
  ])("maps a %s refusal to %s (%i)", async (body, outcome, status) => {
    expect(await make(publisher)(shapedReq(body))).toMatchObject({ outcome, status });
  });

  it("publishes many events in parts, all at once, and answers only when every part is stored", async () => {
    stored.length = 0;
    expect(await make(publisher)(shapedReq("many"))).toMatchObject({ outcome: "accepted", events: 1201 });
    expect(stored.map((s) => s.events.length)).toEqual([500, 500, 201]);
    expect(stored.map((s) => s.msgId)).toEqual(["shaped:b", "shaped:b#1", "shaped:b#2"]);
    let calls = 0;
    const flaky: EventPublisher = { publish: async () => (++calls === 2 ? Promise.reject(new Error("no responders")) : { duplicate: false }) };
    expect(await make(flaky)(shapedReq("many"))).toMatchObject({ outcome: "queue_unavailable", status: 503 });
  });

  it("releases a claimed single-use token when the events were not stored", async () => {
    released = 0;
    await make({ publish: () => Promise.reject(new Error("down")) })(shapedReq("x"));
    expect(released).toBe(1);
    await make(publisher)(shapedReq("x"));
    expect(released).toBe(1);
  });
});
