import { describe, expect, it } from "vitest";
import { z } from "zod";
import { envList, withEnvAliases } from "./config.js";
import { defineProvider } from "./define-provider.js";
import { DuplicateProviderError, InvalidProviderDefinitionError, ProviderConfigError } from "./errors.js";
import { extracted, isRecord, malformed, unmappedPart, unsupportedEvent } from "./extract.js";
import { createProviderRegistry } from "./registry.js";
import { createProviderRuntime, extractVerifiedBody } from "./runtime.js";
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
    // An extract failure after a good signature carries the proof, so the body can be kept raw.
    expect(call('{"to":1}')).toEqual({ ok: false, reason: "malformed", detail: "no to", verified: { ok: true, id: "msg_2" } });
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

/** A provider that POSTs arrays: items it can map become events, the others unmapped parts. */
const batchy = defineProvider({
  ...toy,
  id: "batchy",
  extract(payload, ctx) {
    if (!Array.isArray(payload)) return malformed("not an array");
    const events = [];
    const unmapped = [];
    for (const item of payload) {
      if (isRecord(item) && item.type === "sent" && typeof item.to === "string") {
        events.push({ provider: ctx.provider, providerEventId: `${ctx.deliveryId}:${item.to}`, providerMessageId: "m", recipient: item.to, type: "sent", status: "sent" as const, rawStatus: "sent", occurredAt: 0, errorCode: null, errorMessage: null });
      } else {
        unmapped.push(unmappedPart(unsupportedEvent(`type ${String(isRecord(item) ? item.type : item)}`), Buffer.from(JSON.stringify([item]))));
      }
    }
    return events.length === 0 && unmapped.length === 1 ? unsupportedEvent(unmapped[0]!.detail) : extracted(ctx.deliveryId ?? "", events, unmapped);
  },
});

describe("unmapped parts of a verified body", () => {
  const p = createProviderRuntime(batchy, { TOY_SECRET: secretA });
  const signer = createStandardWebhooksSigner(secretA);
  const call = (text: string) => {
    const body = Buffer.from(text);
    return p.handle({ body, headers: signer.sign(body, { id: "msg_3", timestamp: now / 1000 }), url: "", method: "POST", now }) as HandleResult;
  };

  it("a body with nothing unmapped is the plugin's own result, with no unmapped field", () => {
    const r = call('[{"type":"sent","to":"a"}]');
    expect(r).toEqual({ ok: true, id: "msg_3", events: [expect.objectContaining({ recipient: "a" })] });
  });

  it("a multi-event body keeps its mapped events and lists the parts it could not map, with the proof of verification", () => {
    const r = call('[{"type":"sent","to":"a"},{"type":"teleported","to":"b"},{"type":"sent","to":"c"}]');
    expect(r).toMatchObject({ ok: true, id: "msg_3", events: [{ recipient: "a" }, { recipient: "c" }], verified: { ok: true, id: "msg_3" } });
    if (!r.ok) throw new Error("unreachable");
    expect(r.unmapped).toHaveLength(1);
    expect(r.unmapped![0]).toMatchObject({ reason: "unsupported_event", detail: "type teleported" });
    // The part alone is something the same plugin's extract accepts on its own.
    expect(extractVerifiedBody(batchy, r.unmapped![0]!.body, "msg_3")).toMatchObject({ ok: false, reason: "unsupported_event" });
  });

  it("extractVerifiedBody maps a body verified earlier without any secret, and never throws", () => {
    expect(extractVerifiedBody(toy, Buffer.from('{"to":"a@b"}'), "msg_9")).toMatchObject({ ok: true, id: "msg_9", events: [{ recipient: "a@b" }] });
    expect(extractVerifiedBody(toy, Buffer.from("{"), "msg_9")).toMatchObject({ ok: false, reason: "malformed" });
    expect(extractVerifiedBody(toy, Buffer.from('{"to":"x","boom":true}'), "msg_9")).toMatchObject({ ok: false, reason: "malformed", detail: "extract failed: bug" });
  });
});

describe("environment variable aliases", () => {
  const aliased = defineProvider({ ...toy, id: "aliased", config: withEnvAliases(z.object({ TOY_SECRET: envList(checkStandardWebhooksSecret) }), { TOY_SECRET: ["TOY_LEGACY_SECRET"] }) });

  it("reads a declared alias when the preferred variable is unset, and reports it", () => {
    const p = createProviderRuntime(aliased, { TOY_LEGACY_SECRET: secretA });
    expect(p.aliasesUsed).toEqual([{ alias: "TOY_LEGACY_SECRET", preferred: "TOY_SECRET", ignored: false }]);
    const body = Buffer.from('{"to":"a@b.test"}');
    const headers = createStandardWebhooksSigner(secretA).sign(body, { id: "msg_1", timestamp: now / 1000 });
    expect(p.verify({ body, headers, url: "", method: "POST", now })).toEqual({ ok: true, id: "msg_1" });
  });

  it("prefers the preferred variable and reports the alias as ignored; reports nothing when no alias is set", () => {
    expect(createProviderRuntime(aliased, { TOY_SECRET: secretA, TOY_LEGACY_SECRET: "whsec_bad" }).aliasesUsed).toEqual([{ alias: "TOY_LEGACY_SECRET", preferred: "TOY_SECRET", ignored: true }]);
    expect(createProviderRuntime(aliased, { TOY_SECRET: secretA }).aliasesUsed).toEqual([]);
  });

  it("a bad value set under the alias is reported under the alias's name", () => {
    let error: unknown;
    try {
      createProviderRuntime(aliased, { TOY_LEGACY_SECRET: "whsec_%%%" });
    } catch (e) {
      error = e;
    }
    expect((error as ProviderConfigError).variables).toEqual(["TOY_LEGACY_SECRET"]);
    expect((error as Error).message).toMatch(/TOY_SECRET \(set as TOY_LEGACY_SECRET\) item #1/);
    expect(() => createProviderRuntime(aliased, {})).toThrow(/TOY_SECRET is required/);
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

  it("keeps a single-use token claimed when the body is taken in or kept, and hands the release on", () => {
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
    // Verified but not mappable: the gateway keeps it (a 2xx), so its token stays claimed.
    expect(at(body(false, "t1"))).toMatchObject({ ok: false, reason: "malformed", verified: { ok: true } });
    expect(at(body(false, "t1"))).toMatchObject({ ok: false, reason: "replayed" });
    const taken = at(body(true, "t2"));
    expect(taken).toMatchObject({ ok: true, release: expect.any(Function) });
    expect(at(body(true, "t2"))).toMatchObject({ ok: false, reason: "replayed" });
    if (taken.ok && "release" in taken) taken.release?.();
    expect(at(body(true, "t2"))).toMatchObject({ ok: true });
  });
});
