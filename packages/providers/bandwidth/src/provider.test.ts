import { createProviderRuntime, decodeEvents, encodeEvents, ProviderConfigError } from "@floodgate/provider-kit";
import { basicAuthorization, loadFixtures, runProviderConformance, type BasicCredential } from "@floodgate/provider-kit/testing";
import { describe, expect, it } from "vitest";
import { BANDWIDTH_STATUSES } from "./extract.js";
import { bandwidth } from "./provider.js";

const fixtures = loadFixtures(new URL("../fixtures/", import.meta.url));
const KEYS: [BasicCredential, BasicCredential, BasicCredential] = [
  { username: "floodgate", password: "old-P4ssw0rd" },
  { username: "floodgate", password: "new-P4ssw0rd" },
  { username: "floodgate", password: "never-configured" },
];

// Basic credentials cover no byte of the body: the suite checks the credentials (rotation,
// tampering, missing, repeated) and the mapping of every fixture; TLS protects the body.
runProviderConformance({
  definition: bandwidth,
  fixtures,
  keys: KEYS,
  env: (keys) =>
    keys.length === 0 ? {} : { BANDWIDTH_WEBHOOK_USERNAME: keys.map((k) => k.username).join(","), BANDWIDTH_WEBHOOK_PASSWORD: keys.map((k) => k.password).join(",") },
  sign: (key) => ({ authorization: basicAuthorization(key) }),
  covers: "none",
});

describe("bandwidth: credentials", () => {
  const p = createProviderRuntime(bandwidth, { BANDWIDTH_WEBHOOK_USERNAME: "floodgate", BANDWIDTH_WEBHOOK_PASSWORD: "s3cret" });
  const verify = (authorization: string) => p.verify({ body: Buffer.from("[]"), headers: { authorization }, url: "/webhooks/bandwidth", method: "POST" });

  it("accepts the configured pair only", () => {
    expect(verify(basicAuthorization({ username: "floodgate", password: "s3cret" }))).toEqual({ ok: true });
    expect(verify(basicAuthorization({ username: "floodgate", password: "s3cre" }))).toMatchObject({ reason: "mismatch" });
    expect(verify(basicAuthorization({ username: "Floodgate", password: "s3cret" }))).toMatchObject({ reason: "mismatch" });
  });

  it("a username without its password (or counts that differ) stops the boot, naming both variables", () => {
    for (const env of [{ BANDWIDTH_WEBHOOK_USERNAME: "a" }, { BANDWIDTH_WEBHOOK_USERNAME: "a,b", BANDWIDTH_WEBHOOK_PASSWORD: "x" }]) {
      try {
        createProviderRuntime(bandwidth, env);
        expect.fail("no error");
      } catch (error) {
        expect(error).toBeInstanceOf(ProviderConfigError);
        expect([...(error as ProviderConfigError).variables].sort()).toEqual(["BANDWIDTH_WEBHOOK_PASSWORD", "BANDWIDTH_WEBHOOK_USERNAME"]);
      }
    }
  });
});

describe("bandwidth: mapping", () => {
  it("fixtures cover every row of the status table, and survive the queue codec", () => {
    const covered = new Set(fixtures.flatMap((f) => (Array.isArray(f.body) ? f.body.map((i: { type: string }) => i.type) : [])));
    for (const type of [...BANDWIDTH_STATUSES.keys(), "message-received"]) expect(covered, type).toContain(type);
    for (const f of fixtures) if (f.expected.ok) expect(decodeEvents(encodeEvents(f.expected.events))).toEqual(f.expected.events);
  });
});
