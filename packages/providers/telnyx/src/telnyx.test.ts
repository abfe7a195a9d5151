import { createProviderRuntime, decodeEvents, encodeEvents, ProviderConfigError, STATUSES } from "@floodgate/provider-kit";
import {
  expectNormalizedEvent,
  fixtureBody,
  generateEd25519TestKey,
  loadFixtures,
  runProviderConformance,
  signEd25519Webhook,
  type Ed25519TestKey,
} from "@floodgate/provider-kit/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractTelnyx, TELNYX_STATUSES } from "./extract.js";
import { telnyx } from "./telnyx.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
const keys = [generateEd25519TestKey(), generateEd25519TestKey(), generateEd25519TestKey()] as const;
const envFor = (list: readonly Ed25519TestKey[]) => (list.length === 0 ? {} : { TELNYX_PUBLIC_KEY: list.map((k) => k.publicKey).join(",") });

runProviderConformance({
  definition: telnyx,
  fixtures,
  keys,
  env: envFor,
  sign: (key, body, { timestamp }) => signEd25519Webhook(key, body, timestamp),
  timestampHeader: "telnyx-timestamp",
});

// providers.md §1 derived vector (RFC 8032 §7.1 TEST 1 key); not official, but deterministic.
const VECTOR_BODY =
  '{"data":{"event_type":"message.finalized","id":"b3a0c0de-0000-4000-8000-000000000001","occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"id":"40385f64-5717-4562-b3fc-2c963f66afa6","to":[{"phone_number":"+15555550100","status":"delivered"}]},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/hooks"}}';
const VECTOR_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const VECTOR_SIGNATURE = "E5vFA6QLPMPnolzl4h9PjTkFamca4ffpHNoMHazLJlBQtpv+dB3+SMYtuWx9BKmcZL1GtBhakojafAa8f4CcDw==";

describe("telnyx: derived vector", () => {
  const p = createProviderRuntime(telnyx, { TELNYX_PUBLIC_KEY: VECTOR_KEY });
  const body = Buffer.from(VECTOR_BODY, "utf8");
  const headers = { "telnyx-signature-ed25519": VECTOR_SIGNATURE, "telnyx-timestamp": "1700000000" };
  const at = (now: number) => p.handle({ body, headers, url: "https://gw.test/hooks/telnyx", method: "POST", now });

  it("verifies and extracts at the vector's time", () => {
    expect(at(1_700_000_000_000)).toEqual({
      ok: true,
      id: "b3a0c0de-0000-4000-8000-000000000001",
      events: [
        {
          provider: "telnyx",
          providerEventId: "b3a0c0de-0000-4000-8000-000000000001:+15555550100",
          providerMessageId: "40385f64-5717-4562-b3fc-2c963f66afa6",
          recipient: "+15555550100",
          type: "message.finalized",
          status: "delivered",
          rawStatus: "delivered",
          occurredAt: 1_700_000_000_000,
          errorCode: null,
          errorMessage: null,
        },
      ],
    });
  });

  it("is refused outside the 300 s window and with any other key", () => {
    expect(at(1_700_000_300_999)).toMatchObject({ ok: true });
    expect(at(1_700_000_301_000)).toMatchObject({ ok: false, reason: "timestamp_too_old" });
    expect(at(1_699_999_699_000)).toMatchObject({ ok: false, reason: "timestamp_too_new" });
    const other = createProviderRuntime(telnyx, { TELNYX_PUBLIC_KEY: keys[0].publicKey });
    expect(other.verify({ body, headers, url: "", method: "POST", now: 1_700_000_000_000 })).toMatchObject({ ok: false, reason: "mismatch" });
    const rotated = createProviderRuntime(telnyx, { TELNYX_PUBLIC_KEY: `${keys[0].publicKey}\n ${VECTOR_KEY}` });
    expect(rotated.verify({ body, headers, url: "", method: "POST", now: 1_700_000_000_000 })).toEqual({ ok: true });
  });
});

describe("telnyx: configuration", () => {
  it.each([
    [{}, /TELNYX_PUBLIC_KEY is required/],
    [{ TELNYX_PUBLIC_KEY: "  " }, /TELNYX_PUBLIC_KEY is empty/],
    [{ TELNYX_PUBLIC_KEY: Buffer.alloc(31).toString("base64") }, /TELNYX_PUBLIC_KEY item #1 decodes to 31 bytes/],
    [{ TELNYX_PUBLIC_KEY: `${VECTOR_KEY},not-base64` }, /TELNYX_PUBLIC_KEY item #2 is not standard padded base64/],
  ])("refuses %j", (env, message) => {
    expect(() => createProviderRuntime(telnyx, env)).toThrow(ProviderConfigError);
    expect(() => createProviderRuntime(telnyx, env)).toThrow(message);
  });
});

describe("telnyx: mapping", () => {
  it("maps every documented recipient status", () => {
    expect(Object.fromEntries(TELNYX_STATUSES)).toEqual({
      queued: "queued",
      sending: "queued",
      sent: "sent",
      delivered: "delivered",
      delivery_unconfirmed: "unknown",
      sending_failed: "failed",
      delivery_failed: "failed",
      expired: "failed",
    });
  });

  it("fixtures cover every status and the events survive the queue codec", () => {
    const seen = new Set<string>();
    for (const fixture of fixtures) {
      if (!fixture.expected.ok) continue;
      for (const event of fixture.expected.events) seen.add(event.rawStatus);
      expect(decodeEvents(encodeEvents(fixture.expected.events))).toEqual(fixture.expected.events);
    }
    expect([...seen].sort()).toEqual([...TELNYX_STATUSES.keys()].sort());
  });

  it("an unknown recipient status is unsupported_event, not a guess", () => {
    const body = JSON.parse(Buffer.from(fixtureBody(fixtures.find((f) => f.name === "finalized-delivered")!)).toString());
    body.data.payload.to[0].status = "teleported";
    expect(extractTelnyx(body, { provider: "telnyx", deliveryId: undefined, body: new Uint8Array(), receivedAt: 0 })).toMatchObject({
      ok: false,
      reason: "unsupported_event",
    });
  });

  it("property: any mutation of a real payload yields a typed result with well-formed events", () => {
    const base = JSON.parse(Buffer.from(fixtureBody(fixtures.find((f) => f.name === "finalized-three-recipients")!)).toString());
    const anyValue = fc.oneof(fc.jsonValue(), fc.constantFrom(...STATUSES, ...TELNYX_STATUSES.keys(), null, [], {}));
    const path = fc.constantFrom(
      ["data"],
      ["data", "id"],
      ["data", "event_type"],
      ["data", "occurred_at"],
      ["data", "payload"],
      ["data", "payload", "id"],
      ["data", "payload", "to"],
      ["data", "payload", "cc"],
      ["data", "payload", "errors"],
      ["data", "payload", "to", "0"],
      ["data", "payload", "to", "1", "status"],
      ["data", "payload", "to", "2", "phone_number"],
      ["data", "payload", "errors", "0", "code"],
    );
    fc.assert(
      fc.property(path, anyValue, (keysPath, value) => {
        const body = structuredClone(base);
        let node = body;
        for (const k of keysPath.slice(0, -1)) node = node[k];
        node[keysPath[keysPath.length - 1]!] = value;
        const result = extractTelnyx(body, { provider: "telnyx", deliveryId: undefined, body: new Uint8Array(), receivedAt: 0 });
        if (result.ok) result.events.forEach((e) => expectNormalizedEvent(e, "telnyx"));
        else expect(["malformed", "unsupported_event"]).toContain(result.reason);
      }),
      { numRuns: 500 },
    );
  });
});
