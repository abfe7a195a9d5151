import { createProviderRuntime, decodeEvents, encodeEvents } from "@floodgate/provider-kit";
import { basicAuthorization, loadFixtures, runProviderConformance, type BasicCredential } from "@floodgate/provider-kit/testing";
import { describe, expect, it } from "vitest";
import { POSTMARK_BOUNCE_STATUSES, POSTMARK_RECORD_STATUSES } from "./extract.js";
import { postmark } from "./provider.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
const KEYS: [BasicCredential, BasicCredential, BasicCredential] = [
  { username: "postmark", password: "Zq8-old-secret" },
  { username: "postmark-2", password: "Zq8-new-secret" },
  { username: "postmark", password: "not-configured" },
];

runProviderConformance({
  definition: postmark,
  fixtures,
  keys: KEYS,
  env: (keys) => (keys.length === 0 ? {} : { POSTMARK_WEBHOOK_USERNAME: keys.map((k) => k.username).join(","), POSTMARK_WEBHOOK_PASSWORD: keys.map((k) => k.password).join(",") }),
  sign: (key) => ({ authorization: basicAuthorization(key) }),
  covers: "none",
});

describe("postmark", () => {
  it("asks to be answered 200 (Postmark treats any other code as a failure)", () => {
    const p = createProviderRuntime(postmark, { POSTMARK_WEBHOOK_USERNAME: "u", POSTMARK_WEBHOOK_PASSWORD: "p" });
    expect(p.successStatus).toBe(200);
  });

  it("refuses a wrong password and a missing header", () => {
    const p = createProviderRuntime(postmark, { POSTMARK_WEBHOOK_USERNAME: "u", POSTMARK_WEBHOOK_PASSWORD: "p" });
    const body = Buffer.from("{}");
    expect(p.verify({ body, headers: { authorization: basicAuthorization({ username: "u", password: "q" }) }, url: "/", method: "POST" })).toMatchObject({ reason: "mismatch" });
    expect(p.verify({ body, headers: {}, url: "/", method: "POST" })).toMatchObject({ reason: "missing_header" });
  });

  it("fixtures cover every record type and every bounce type, and survive the queue codec", () => {
    const bodies = fixtures.map((f) => f.body as { RecordType: string; Type?: string });
    for (const type of POSTMARK_RECORD_STATUSES.keys()) expect(bodies.some((b) => b.RecordType === type), type).toBe(true);
    for (const type of POSTMARK_BOUNCE_STATUSES.keys()) expect(bodies.some((b) => b.RecordType === "Bounce" && b.Type === type), type).toBe(true);
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });
});
