import { describe, expect, it } from "vitest";
import { z } from "zod";
import { envList } from "./config.js";
import { defineProvider } from "./define-provider.js";
import { DuplicateProviderError, InvalidProviderDefinitionError, ProviderConfigError } from "./errors.js";
import { extracted, isRecord, malformed } from "./extract.js";
import { createProviderRegistry } from "./registry.js";
import { createProviderRuntime } from "./runtime.js";
import { checkStandardWebhooksSecret, standardWebhooks } from "./schemes/standard-webhooks.js";
import { useScheme } from "./schemes/scheme.js";
import { createStandardWebhooksSigner, generateStandardWebhooksSecret } from "./testing/signers.js";
import { providerEnv } from "./config.js";
import type { FormParams } from "./form.js";
import { eventIdOf } from "./ids.js";
import { publicUrlVar } from "./public-url.js";
import type { HandleResult } from "./runtime.js";
import { hmac } from "./schemes/hmac.js";
import { snsHandshake, snsSignature } from "./schemes/sns.js";
import { urlParamsHmac } from "./schemes/url-params-hmac.js";
import { createSnsTestFetch, generateSnsTestCertificate, hmacOf, signSnsMessage, signUrlParams } from "./testing/scheme-signers.js";

const toy = defineProvider({
  id: "toy",
  config: z.object({ TOY_SECRET: envList(checkStandardWebhooksSecret) }),
  signature: (config) => useScheme(standardWebhooks, { secrets: config.TOY_SECRET }),
  extract(payload, ctx) {
    if (!isRecord(payload) || typeof payload.to !== "string") return malformed("no to");
    if (payload.boom === true) throw new Error("bug");
    return extracted(ctx.deliveryId ?? "", [
      {
        provider: ctx.provider,
        providerEventId: ctx.deliveryId ?? "",
        providerMessageId: "m",
        recipient: payload.to,
        type: "t",
        status: "sent",
        rawStatus: "sent",
        occurredAt: 0,
        errorCode: null,
        errorMessage: null,
      },
    ]);
  },
});

const secretA = generateStandardWebhooksSecret();
const secretB = generateStandardWebhooksSecret(24);
const now = 1_700_000_000_000;

describe("defineProvider", () => {
  it("rejects ids outside [a-z0-9-]", () => {
    for (const id of ["", "Toy", "toy_1", "toy.x", "a".repeat(65)]) {
      expect(() => defineProvider({ ...toy, id })).toThrow(InvalidProviderDefinitionError);
    }
  });
});

describe("createProviderRuntime", () => {
  it("names the missing or invalid variable", () => {
    for (const env of [{}, { TOY_SECRET: "" }, { TOY_SECRET: " , " }, { TOY_SECRET: `${secretA},whsec_bad` }]) {
      let error: unknown;
      try {
        createProviderRuntime(toy, env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProviderConfigError);
      expect((error as ProviderConfigError).variables).toEqual(["TOY_SECRET"]);
      expect((error as Error).message).toMatch(/provider toy: invalid configuration: TOY_SECRET/);
      expect((error as Error).cause).toBeDefined();
    }
  });

  it("accepts several secrets separated by commas and whitespace", () => {
    const p = createProviderRuntime(toy, { TOY_SECRET: ` ${secretA},\n${secretB} ` });
    const body = Buffer.from('{"to":"a@b.test"}');
    for (const secret of [secretA, secretB]) {
      const headers = createStandardWebhooksSigner(secret).sign(body, { id: "msg_1", timestamp: now / 1000 });
      expect(p.verify({ body, headers, url: "", method: "POST", now })).toEqual({ ok: true, id: "msg_1" });
    }
  });

  it("handle verifies, parses once and extracts; extract failures and bugs are typed results", () => {
    const p = createProviderRuntime(toy, { TOY_SECRET: secretA });
    const signer = createStandardWebhooksSigner(secretA, "webhook-");
    const call = (text: string) => {
      const body = Buffer.from(text);
      return p.handle({ body, headers: signer.sign(body, { id: "msg_2", timestamp: now / 1000 }), url: "", method: "POST", now });
    };
    expect(call('{"to":"a@b.test"}')).toMatchObject({ ok: true, id: "msg_2", events: [{ provider: "toy", recipient: "a@b.test" }] });
    expect(call('{"to":1}')).toEqual({ ok: false, reason: "malformed", detail: "no to" });
    expect(call("{")).toMatchObject({ ok: false, reason: "malformed", detail: expect.stringMatching(/JSON/) });
    expect(call('{"to":"x","boom":true}')).toMatchObject({ ok: false, reason: "malformed", detail: "extract failed: bug" });
    const invalidUtf8 = Buffer.from([0x22, 0xff, 0x22]);
    expect(p.extract(invalidUtf8, { ok: true, id: "m" })).toMatchObject({ ok: false, reason: "malformed" });
    expect(p.handle({ body: Buffer.from("{}"), headers: {}, url: "", method: "POST", now })).toMatchObject({ ok: false, reason: "missing_header" });
  });

  it("uses the real clock when none is injected", () => {
    const p = createProviderRuntime(toy, { TOY_SECRET: secretA });
    const body = Buffer.from('{"to":"x"}');
    const fresh = createStandardWebhooksSigner(secretA).sign(body, { id: "m", timestamp: Math.floor(Date.now() / 1000) });
    expect(p.verify({ body, headers: fresh, url: "", method: "POST" })).toMatchObject({ ok: true });
    const stale = createStandardWebhooksSigner(secretA).sign(body, { id: "m", timestamp: 1614265330 });
    expect(p.verify({ body, headers: stale, url: "", method: "POST" })).toMatchObject({ ok: false, reason: "timestamp_too_old" });
  });
});

describe("createProviderRegistry", () => {
  it("finds runtimes by id and refuses duplicates", () => {
    const a = createProviderRuntime(toy, { TOY_SECRET: secretA });
    const other = createProviderRuntime(defineProvider({ ...toy, id: "other" }), { TOY_SECRET: secretA });
    const registry = createProviderRegistry([a, other]);
    expect(registry.get("toy")).toBe(a);
    expect(registry.get("nope")).toBeUndefined();
    expect(registry.ids).toEqual(["toy", "other"]);
    const b = createProviderRuntime(toy, { TOY_SECRET: secretB });
    expect(() => createProviderRegistry([a, other, b])).toThrow(DuplicateProviderError);
    try {
      createProviderRegistry([a, b]);
    } catch (error) {
      expect((error as DuplicateProviderError).name).toBe("DuplicateProviderError");
      expect((error as DuplicateProviderError).provider).toBe("toy");
    }
  });
});

describe("createProviderRuntime: shapes beyond raw JSON", () => {
  const base = "https://hooks.test";
  const formToy = defineProvider({
    id: "form-toy",
    body: "form",
    config: providerEnv({ FORM_TOY_TOKEN: envList() }, { PUBLIC_URL: publicUrlVar() }),
    signature: (config) => useScheme(urlParamsHmac, { secrets: config.FORM_TOY_TOKEN, publicUrl: config.PUBLIC_URL, signatureHeader: "x-sig" }),
    extract(payload, ctx) {
      const p = payload as FormParams;
      if (typeof p.Sid !== "string" || typeof p.Status !== "string") return malformed("no Sid/Status");
      return extracted(eventIdOf(p.Sid, p.Status), [
        { provider: ctx.provider, providerEventId: eventIdOf(p.Sid, p.Status), providerMessageId: p.Sid, recipient: "", type: "status", status: "sent", rawStatus: p.Status, occurredAt: ctx.receivedAt, errorCode: null, errorMessage: null },
      ]);
    },
  });

  it("parses a form body once, before verifying, and hands the same parameters to extract", () => {
    const p = createProviderRuntime(formToy, { FORM_TOY_TOKEN: "tok", PUBLIC_URL: base });
    expect(p.contentTypes).toEqual(["application/x-www-form-urlencoded"]);
    expect(p.methods).toEqual(["POST"]);
    const body = Buffer.from("Sid=SM1&Status=sent");
    const headers = { "x-sig": signUrlParams("tok", `${base}/webhooks/form-toy?a=1`, { Sid: "SM1", Status: "sent" }) };
    const result = p.handle({ body, headers, url: "/webhooks/form-toy?a=1", method: "POST", now: 1234 });
    expect(result).toMatchObject({ ok: true, id: "SM1:sent", events: [{ occurredAt: 1234, rawStatus: "sent" }] });
    expect(p.handle({ body: Buffer.from("Sid=%zz"), headers, url: "/webhooks/form-toy?a=1", method: "POST" })).toMatchObject({ ok: false, reason: "bad_encoding" });
    expect(p.extract(body, { ok: true })).toMatchObject({ ok: true, id: "SM1:sent" });
  });

  it("refuses to build a provider whose scheme and body format disagree", () => {
    expect(() => createProviderRuntime(defineProvider({ ...formToy, body: "json" }), { FORM_TOY_TOKEN: "tok", PUBLIC_URL: base })).toThrow(/reads the body as form/);
  });

  it("a half-configured provider names the variable that is set; an unconfigured one only its own", () => {
    const variables = (env: Record<string, string>) => {
      try {
        createProviderRuntime(formToy, env);
      } catch (error) {
        return (error as ProviderConfigError).variables;
      }
      return [];
    };
    expect(variables({ PUBLIC_URL: base })).toEqual(["FORM_TOY_TOKEN"]);
    expect(variables({ FORM_TOY_TOKEN: "tok" })).toEqual(expect.arrayContaining(["FORM_TOY_TOKEN", "PUBLIC_URL"]));
  });

  const cert = generateSnsTestCertificate();
  const TOPIC = "arn:aws:sns:us-east-1:123456789012:t";
  const snsToy = defineProvider({
    id: "sns-toy",
    config: z.object({ TOPICS: envList() }),
    contentTypes: ["text/plain", "application/json"],
    successStatus: 200,
    signature: (config) => useScheme(snsSignature, { topicArns: config.TOPICS }),
    handshake: snsHandshake,
    extract: (_payload, ctx) => (ctx.deliveryId === "bad" ? malformed("bad") : extracted(ctx.deliveryId ?? "", [])),
  });
  const envelope = (type: "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation", id = "m-1") =>
    Buffer.from(
      JSON.stringify(
        signSnsMessage(cert, {
          Type: type,
          MessageId: id,
          TopicArn: TOPIC,
          Message: "{}",
          Timestamp: new Date(Date.now()).toISOString(),
          ...(type === "Notification" ? {} : { Token: "t", SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t" }),
        }),
      ),
    );

  it("verifies asynchronously only on a certificate miss, runs the handshake hook, passes the success status on", async () => {
    const served = createSnsTestFetch([cert]);
    const p = createProviderRuntime(snsToy, { TOPICS: TOPIC }, { fetch: served.fetch });
    expect(p.successStatus).toBe(200);
    expect(p.contentTypes).toEqual(["text/plain", "application/json"]);
    const first = p.handle({ body: envelope("Notification"), headers: {}, url: "/", method: "POST" });
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ ok: true, id: "m-1", events: [] });
    const second = p.handle({ body: envelope("Notification", "m-2"), headers: {}, url: "/", method: "POST" });
    expect(second).not.toBeInstanceOf(Promise);
    expect(await p.handle({ body: envelope("SubscriptionConfirmation"), headers: {}, url: "/", method: "POST" })).toMatchObject({ ok: true, handshake: expect.stringMatching(/confirmed/) });
    expect(served.calls.filter((c) => c.includes("ConfirmSubscription"))).toHaveLength(1);
    expect(await p.handle({ body: envelope("UnsubscribeConfirmation"), headers: {}, url: "/", method: "POST" })).toMatchObject({ ok: true, handshake: expect.stringMatching(/Unsubscribe/) });
  });

  it("never confirms a subscription that does not verify", async () => {
    const served = createSnsTestFetch([cert]);
    const p = createProviderRuntime(snsToy, { TOPICS: "arn:aws:sns:us-east-1:123456789012:other" }, { fetch: served.fetch });
    expect(await p.handle({ body: envelope("SubscriptionConfirmation"), headers: {}, url: "/", method: "POST" })).toMatchObject({ ok: false, reason: "not_allowed" });
    const forged = JSON.parse(envelope("SubscriptionConfirmation").toString());
    forged.SubscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=other";
    const q = createProviderRuntime(snsToy, { TOPICS: TOPIC }, { fetch: served.fetch });
    expect(await q.handle({ body: Buffer.from(JSON.stringify(forged)), headers: {}, url: "/", method: "POST" })).toMatchObject({ ok: false, reason: "mismatch" });
    expect(served.calls.filter((c) => c.includes("ConfirmSubscription"))).toHaveLength(0);
  });

  it("releases a single-use token when the body is refused, and hands the release on when it is taken in", () => {
    const single = defineProvider({
      id: "single",
      config: z.object({ SINGLE_KEY: envList() }),
      signature: (config) =>
        useScheme(hmac, {
          secrets: config.SINGLE_KEY,
          algorithm: "sha256",
          encoding: "hex",
          signature: { field: ["sig", "signature"] },
          timestamp: { field: ["sig", "timestamp"], toleranceSeconds: 300 },
          nonce: { field: ["sig", "token"], singleUse: true },
          signed: ["timestamp", "nonce"],
        }),
      extract: (payload, ctx) => ((payload as { ok?: boolean }).ok ? extracted("d", []) : malformed(`not ok at ${ctx.receivedAt}`)),
    });
    const p = createProviderRuntime(single, { SINGLE_KEY: "k" });
    const body = (ok: boolean, token: string) =>
      Buffer.from(JSON.stringify({ ok, sig: { timestamp: "1700000000", token, signature: hmacOf("sha256", "k", ["1700000000", token]).toString("hex") } }));
    const at = (b: Buffer) => p.handle({ body: b, headers: {}, url: "/", method: "POST", now: 1_700_000_000_000 }) as HandleResult;
    expect(at(body(false, "t1"))).toMatchObject({ ok: false, reason: "malformed" });
    expect(at(body(false, "t1"))).toMatchObject({ ok: false, reason: "malformed" }); // released, not replayed
    const taken = at(body(true, "t2"));
    expect(taken).toMatchObject({ ok: true, release: expect.any(Function) });
    expect(at(body(true, "t2"))).toMatchObject({ ok: false, reason: "replayed" });
    if (taken.ok && "release" in taken) taken.release?.();
    expect(at(body(true, "t2"))).toMatchObject({ ok: true });
  });
});
