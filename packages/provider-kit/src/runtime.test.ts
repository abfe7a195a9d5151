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
