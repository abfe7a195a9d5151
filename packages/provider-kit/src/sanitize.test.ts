import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { envList } from "./config.js";
import { defineProvider } from "./define-provider.js";
import type { NormalizedEvent } from "./event.js";
import { extracted, isRecord, malformed } from "./extract.js";
import { createProviderRuntime, extractVerifiedBody } from "./runtime.js";
import { REPLACEMENT_CHARACTER, sanitizeEvent, sanitizeExtracted, sanitizeString } from "./sanitize.js";
import { checkStandardWebhooksSecret, standardWebhooks } from "./schemes/standard-webhooks.js";
import { useScheme } from "./schemes/scheme.js";
import { createStandardWebhooksSigner, generateStandardWebhooksSecret } from "./testing/signers.js";

/** Any sequence of UTF-16 code units: NULs, lone and paired surrogates, everything else. */
const codeUnits = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0xffff }),
      fc.constantFrom(0, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0x41, 0xe9),
    ),
    { maxLength: 40 },
  )
  .map((units) => String.fromCharCode(...units));

/** What sanitizeString must return, written the slow, obvious way. */
function reference(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) {
      out += REPLACEMENT_CHARACTER;
    } else {
      out += s[i]!;
    }
  }
  return out;
}

describe("sanitizeString", () => {
  it("replaces every NUL and lone surrogate with U+FFFD, one for one, and keeps everything else", () => {
    fc.assert(
      fc.property(codeUnits, (s) => {
        const out = sanitizeString(s);
        expect(out).toBe(reference(s));
        expect(out).toHaveLength(s.length);
        expect(out.includes("\0")).toBe(false);
        // Stored as UTF-8 and read back, nothing changes: PostgreSQL text can hold it as is.
        expect(Buffer.from(out, "utf8").toString("utf8")).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });

  it("returns the very same string when there is nothing to replace", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        const clean = s.replaceAll("\0", "");
        expect(sanitizeString(clean)).toBe(clean);
      }),
    );
    expect(sanitizeString("user\u0000unknown")).toBe("user\uFFFDunknown");
    expect(sanitizeString("a\ud800b\udc00c")).toBe("a\uFFFDb\uFFFDc");
    expect(sanitizeString("\ud83d\ude00 ok")).toBe("\ud83d\ude00 ok");
  });
});

const event: NormalizedEvent = {
  provider: "toy",
  providerEventId: "e1",
  providerMessageId: "m1",
  recipient: "a@b.test",
  type: "t",
  status: "bounced",
  rawStatus: "bounced",
  occurredAt: 0,
  errorCode: null,
  errorMessage: "550 user unknown",
};

describe("sanitizeEvent / sanitizeExtracted", () => {
  it("touch nothing (and allocate nothing) when every string is clean", () => {
    const frozen = Object.freeze({ ...event });
    expect(sanitizeEvent(frozen)).toBe(frozen);
    const result = extracted("d1", [frozen, frozen]);
    expect(sanitizeExtracted(result)).toBe(result);
  });

  it("clean every string field of a copy, whichever field carries the bad character", () => {
    const fields = ["provider", "providerEventId", "providerMessageId", "recipient", "type", "rawStatus", "errorCode", "errorMessage"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), codeUnits, (field, bad) => {
        const dirty = Object.freeze({ ...event, [field]: `x${bad}\u0000` });
        const clean = sanitizeEvent(dirty);
        expect(clean).toEqual({ ...event, [field]: sanitizeString(`x${bad}\u0000`) });
        expect(dirty[field]).toBe(`x${bad}\u0000`);
        const result = extracted("d\u0000", [event, dirty]);
        const out = sanitizeExtracted(result);
        expect(out).toEqual({ ok: true, id: "d\uFFFD", events: [event, clean] });
        expect(out.events[0]).toBe(event);
        expect(result.events[1]).toBe(dirty);
      }),
    );
  });
});

describe("the provider runtime sanitizes what every plugin extracts", () => {
  const toy = defineProvider({
    id: "toy",
    config: z.object({ TOY_SECRET: envList(checkStandardWebhooksSecret) }),
    signature: (config) => useScheme(standardWebhooks, { secrets: config.TOY_SECRET }),
    extract(payload, ctx) {
      if (!isRecord(payload) || typeof payload.message !== "string") return malformed("no message");
      return extracted(ctx.deliveryId ?? "", [{ ...event, providerEventId: ctx.deliveryId ?? "", errorMessage: payload.message }]);
    },
  });
  const secret = generateStandardWebhooksSecret();
  const runtime = createProviderRuntime(toy, { TOY_SECRET: secret });
  const signer = createStandardWebhooksSigner(secret);
  const now = 1_700_000_000_000;
  const handle = (body: Uint8Array) => runtime.handle({ body, headers: signer.sign(body, { id: "msg_1", timestamp: now / 1000 }), url: "", method: "POST", now });

  it("NUL and lone surrogates written as JSON escapes", () => {
    expect(handle(Buffer.from('{"message":"550 user\\u0000unknown \\ud800!"}'))).toMatchObject({
      ok: true,
      events: [{ errorMessage: "550 user\uFFFDunknown \uFFFD!" }],
    });
  });

  it("a replayed dead letter (extractVerifiedBody, no runtime) is sanitized the same way", () => {
    expect(extractVerifiedBody(toy, Buffer.from('{"message":"a\\u0000b"}'), "msg_9")).toMatchObject({ ok: true, id: "msg_9", events: [{ errorMessage: "a\uFFFDb" }] });
  });

  it("invalid UTF-8 bytes inside a string become U+FFFD instead of losing the webhook", () => {
    const body = Buffer.concat([Buffer.from('{"message":"550 '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(' unknown"}')]);
    expect(handle(body)).toMatchObject({ ok: true, events: [{ errorMessage: "550 \uFFFD(\uFFFD unknown" }] });
    // Outside a string an invalid byte is still not JSON.
    expect(handle(Buffer.from([0x7b, 0xff, 0x7d]))).toMatchObject({ ok: false, reason: "malformed" });
  });
});
