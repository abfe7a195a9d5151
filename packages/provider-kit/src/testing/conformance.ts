import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ProviderEnv } from "../config.js";
import type { ProviderDefinition } from "../define-provider.js";
import { ProviderConfigError } from "../errors.js";
import { STATUSES, type NormalizedEvent } from "../event.js";
import { parseForm } from "../form.js";
import type { UnmappedPart } from "../extract.js";
import { createProviderRuntime, extractVerifiedBody, type HandledOk, type HandleResult, type ProviderRuntime, type RuntimeOptions } from "../runtime.js";
import { VERIFY_FAILURE_REASONS, type RequestHeaders, type VerifyRequest, type VerifyResult } from "../verification.js";
import { fixtureBody, type ProviderFixture } from "./fixtures.js";
import { formBody } from "./scheme-signers.js";

/** A request signed by a provider that puts (part of) its signature in the body. */
export interface SignedRequest {
  headers: Record<string, string>;
  /** The body as sent, signature included; defaults to the body given to `sign`. */
  body?: Uint8Array;
}

/** What the credential of a request covers of its body. */
export type BodyCoverage = "bytes" | "form" | "none";

/** How the conformance suite signs and configures a provider. */
export interface ProviderConformanceOptions<Config, Key> {
  definition: ProviderDefinition<Config>;
  fixtures: readonly ProviderFixture[];
  /** Three distinct keys. The first two are configured together (rotation); the third never is. */
  keys: readonly [Key, Key, Key];
  /** The environment configuring exactly `keys` (an empty list: no secret at all). */
  env(keys: readonly Key[]): ProviderEnv;
  /**
   * Signs `body` as the provider would and returns the headers it sends for the signature, and
   * only those (the suite removes each one in turn and expects `missing_header`); or, for a
   * provider that signs inside the body, `{ headers, body }` with the body as sent. `url` is
   * the path and query the gateway receives (prefix it with the configured `PUBLIC_URL` for
   * schemes that sign the URL).
   */
  sign(key: Key, body: Uint8Array, options: { timestamp: number; deliveryId: string; url: string }): Record<string, string> | SignedRequest;
  /** Header holding the Unix timestamp, when the scheme has one in a header. */
  timestampHeader?: string;
  /** Whether signatures expire (tested through `sign`'s timestamp); default: `timestampHeader` is set. */
  expires?: boolean;
  /** Default 300. */
  toleranceSeconds?: number;
  /**
   * What the credential covers of the body: every byte (`bytes`, the default); the decoded
   * form parameters (`form`: a byte change that decodes to the same parameters still
   * verifies); or nothing the suite can tamper with generically (`none`: HTTP Basic, or a
   * signature over a few fields of the body, which the provider's own tests tamper with).
   */
  covers?: BodyCoverage;
  /** Path and query the gateway receives; default `/webhooks/<id>?conformance=1`. */
  url?: string;
  /** The URL is signed: another path or query is a mismatch. */
  signsUrl?: boolean;
  /** A signature is single-use: a second request with it is `replayed` until its claim is released. */
  singleUse?: boolean;
  /**
   * How a request signed with a key that is not configured is refused; default `mismatch`.
   * (SNS: the "keys" are the allowed topics, and another topic is `not_allowed`.)
   */
  unknownKeyReason?: string;
  /** Passed to `createProviderRuntime` (e.g. an offline `fetch`). */
  runtimeOptions?: RuntimeOptions;
  /** Fixed clock for the suite, epoch ms; default 2023-11-14T22:13:20Z. */
  now?: number;
  /** Bodies up to this length are tampered at every byte; longer ones at a dense sample. Default 2048. */
  exhaustiveTamperLimit?: number;
  /** fast-check runs per property; default 200. */
  propertyRuns?: number;
}

/** Checks that `event` is a well-formed {@link NormalizedEvent} of provider `provider`. */
export function expectNormalizedEvent(event: NormalizedEvent, provider: string): void {
  expect(Object.keys(event).sort()).toEqual(
    ["errorCode", "errorMessage", "occurredAt", "provider", "providerEventId", "providerMessageId", "rawStatus", "recipient", "status", "type"],
  );
  expect(event.provider).toBe(provider);
  expect(STATUSES).toContain(event.status);
  expect(Number.isFinite(event.occurredAt)).toBe(true);
  expect(event.providerEventId.length).toBeGreaterThan(0);
  expect(typeof event.providerMessageId).toBe("string");
  expect(typeof event.recipient).toBe("string");
  expect(typeof event.type).toBe("string");
  expect(typeof event.rawStatus).toBe("string");
  expect(event.errorCode === null || typeof event.errorCode === "string").toBe(true);
  expect(event.errorMessage === null || typeof event.errorMessage === "string").toBe(true);
}

/** Byte positions to tamper with: all of them for small bodies, a dense spread plus both ends otherwise. */
function tamperPositions(length: number, limit: number): number[] {
  if (length <= limit) return Array.from({ length }, (_, i) => i);
  const positions = new Set<number>([0, 1, length - 2, length - 1]);
  const step = length / limit;
  for (let i = 0; i < limit; i++) positions.add(Math.floor(i * step));
  return [...positions].sort((a, b) => a - b);
}

/** The result as a fixture states it: no `release` callback, no proof of verification, unmapped parts as reason and text. */
function plain(result: HandleResult): unknown {
  if (!result.ok) return result;
  const { release: _release, verified: _verified, unmapped, ...rest } = result as HandledOk;
  return unmapped === undefined || unmapped.length === 0 ? rest : { ...rest, unmapped: unmapped.map((u: UnmappedPart) => ({ reason: u.reason, body: Buffer.from(u.body).toString("utf8") })) };
}

/** Releases a claimed single-use token, so the next check may use the same signature. */
function settle<T extends VerifyResult | HandleResult>(result: T): T {
  if (result.ok && "release" in result) result.release?.();
  // A verified body that could not be mapped is kept by the gateway: its claim goes with it.
  if (!result.ok && "verified" in result) (result.verified as { release?: () => void } | undefined)?.release?.();
  return result;
}

const headerValue = fc.oneof(
  fc.string(),
  fc.constant(""),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constant(undefined),
  fc.stringMatching(/^v1,[A-Za-z0-9+/]{43}=$/),
  fc.stringMatching(/^[A-Za-z0-9+/]{86}==$/),
  fc.stringMatching(/^Basic [A-Za-z0-9+/]{4,40}={0,2}$/),
  fc.integer({ min: 0, max: 2_000_000_000 }).map(String),
);

/** A different character in the same alphabet family, so the value still parses but differs. */
function flipChar(value: string, position: number): string {
  const c = value[position] as string;
  const replacement = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : /[a-z]/.test(c) ? (c === "z" ? "a" : String.fromCharCode(c.charCodeAt(0) + 1)) : /[A-Z]/.test(c) ? (c === "Z" ? "A" : String.fromCharCode(c.charCodeAt(0) + 1)) : c === "+" ? "/" : "+";
  return value.slice(0, position) + replacement + value.slice(position + 1);
}

/**
 * Registers the shared conformance tests for a provider: sign, verify, tamper with the body,
 * the headers and the URL, expire, replay, rotate keys, fail closed, drop headers, extract every
 * fixture, and fuzz verify and extract with fast-check. Call it at the top level of a
 * provider's test file. What applies depends on the scheme's shape (see the options).
 */
export function runProviderConformance<Config, Key>(options: ProviderConformanceOptions<Config, Key>): void {
  const { definition, fixtures, keys, env, timestampHeader } = options;
  const tolerance = options.toleranceSeconds ?? 300;
  const expires = options.expires ?? timestampHeader !== undefined;
  const covers = options.covers ?? "bytes";
  const now = options.now ?? 1_700_000_000_000;
  const nowSeconds = Math.floor(now / 1000);
  const tamperLimit = options.exhaustiveTamperLimit ?? 2048;
  const numRuns = options.propertyRuns ?? 200;
  const url = options.url ?? `/webhooks/${definition.id}?conformance=1`;
  const [k0, k1, k2] = keys;
  const unknownKey = options.unknownKeyReason ?? "mismatch";
  const formLike = definition.body === "form" || definition.body === "params";

  const runtime = (configured: readonly Key[]): ProviderRuntime => createProviderRuntime(definition, env(configured), options.runtimeOptions);
  const request = (body: Uint8Array, headers: RequestHeaders, at = url): VerifyRequest => ({ body, headers, url: at, method: "POST", now });
  const deliveryIdOf = (fixture: ProviderFixture, i: number) => fixture.deliveryId ?? `msg_conformance_${i}`;
  const signBody = (key: Key, body: Uint8Array, timestamp = nowSeconds, deliveryId = "msg_conformance", at = url) => {
    const signed = options.sign(key, body, { timestamp, deliveryId, url: at });
    return "headers" in signed && typeof signed.headers === "object" && !Array.isArray(signed.headers)
      ? { headers: (signed as SignedRequest).headers, body: (signed as SignedRequest).body ?? body }
      : { headers: signed as Record<string, string>, body };
  };
  const signFixture = (key: Key, fixture: ProviderFixture, i: number, timestamp = nowSeconds) => signBody(key, fixtureBody(fixture), timestamp, deliveryIdOf(fixture, i));
  const verifyWith = async (p: ProviderRuntime, body: Uint8Array, headers: RequestHeaders, at = url) => settle(await p.verify(request(body, headers, at)));
  const handleWith = async (p: ProviderRuntime, body: Uint8Array, headers: RequestHeaders, at = url) => settle(await p.handle(request(body, headers, at)));

  describe(`provider ${definition.id}: conformance`, () => {
    it("has fixtures", () => {
      expect(fixtures.length).toBeGreaterThan(0);
    });

    describe("configuration", () => {
      it("fails closed without a secret: construction throws or every request is refused", async () => {
        let p: ProviderRuntime | undefined;
        try {
          p = runtime([]);
        } catch (error) {
          expect(error).toBeInstanceOf(ProviderConfigError);
          expect((error as ProviderConfigError).variables.length).toBeGreaterThan(0);
        }
        if (p === undefined) return;
        for (const [i, fixture] of fixtures.entries()) {
          const signed = signFixture(k0, fixture, i);
          expect((await handleWith(p, signed.body, signed.headers)).ok).toBe(false);
        }
      });
    });

    describe("signatures", () => {
      const p = runtime([k0]);

      it.each(fixtures.map((f, i) => [f.name, f, i] as const))("%s: a signed body verifies", async (_name, fixture, i) => {
        const signed = signFixture(k0, fixture, i);
        const result = await verifyWith(p, signed.body, signed.headers);
        expect(result).toMatchObject({ ok: true });
        if (fixture.deliveryId !== undefined && result.ok && result.id !== undefined) expect(result.id).toBe(fixture.deliveryId);
      });

      if (covers !== "none") {
        it.each(fixtures.map((f, i) => [f.name, f, i] as const))(
          covers === "bytes" ? "%s: flipping any byte of the body is a mismatch" : "%s: flipping any byte of the body is refused unless it decodes to the same parameters",
          async (_name, fixture, i) => {
            const { body, headers } = signFixture(k0, fixture, i);
            const original = covers === "form" ? parseForm(body) : undefined;
            const tampered = new Uint8Array(body);
            const positions = tamperPositions(body.length, tamperLimit);
            for (const pos of positions) {
              const byte = tampered[pos] as number;
              tampered[pos] = byte ^ (1 << (pos % 8));
              const result = await verifyWith(p, tampered, headers);
              if (covers === "bytes") {
                if (result.ok || result.reason !== "mismatch") expect.fail(`byte ${pos} flipped: expected mismatch, got ${JSON.stringify(result)}`);
              } else {
                const same = original !== undefined && isDeepStrictEqual(parseForm(tampered), original);
                if (result.ok !== same) expect.fail(`byte ${pos} flipped (parameters ${same ? "unchanged" : "changed"}): got ${JSON.stringify(result)}`);
              }
              tampered[pos] = byte;
            }
            expect(positions.length).toBeGreaterThan(0);
          },
        );

        it("a truncated or extended body is refused", async () => {
          const { body, headers } = signFixture(k0, fixtures[0] as ProviderFixture, 0);
          for (const changed of [body.subarray(0, body.length - 1), Buffer.concat([body, Buffer.from(covers === "form" ? "x" : " ")]), new Uint8Array(0)]) {
            const result = await verifyWith(p, changed, headers);
            expect(result.ok).toBe(false);
            if (covers === "bytes") expect(result).toMatchObject({ reason: "mismatch" });
          }
        });
      }

      it("changing any signature header's value is refused", async () => {
        const { body, headers } = signFixture(k0, fixtures[0] as ProviderFixture, 0);
        for (const [name, value] of Object.entries(headers)) {
          if (name === timestampHeader) continue; // covered below
          // First and middle characters: the last ones of base64 may be padding bits only.
          for (const pos of [0, Math.floor(value.length / 2)]) {
            const changed = flipChar(value, pos);
            if (changed === value) continue;
            const result = await verifyWith(p, body, { ...headers, [name]: changed });
            if (result.ok) expect.fail(`header ${name} changed at ${pos} still verifies`);
          }
        }
      });

      if (options.signsUrl) {
        it("the URL is covered: another path or query is a mismatch", async () => {
          const { body, headers } = signFixture(k0, fixtures[0] as ProviderFixture, 0);
          const q = url.indexOf("?");
          const path = q === -1 ? url : url.slice(0, q);
          for (const other of [`${path}x${q === -1 ? "" : url.slice(q)}`, `${path}?other=1`, path === url ? `${url}?x=1` : path]) {
            expect(await verifyWith(p, body, headers, other), other).toMatchObject({ ok: false, reason: "mismatch" });
          }
        });
      }

      if (timestampHeader !== undefined) {
        it("the timestamp is covered by the signature", async () => {
          const { body, headers } = signFixture(k0, fixtures[0] as ProviderFixture, 0);
          expect(await verifyWith(p, body, { ...headers, [timestampHeader]: String(nowSeconds + 1) })).toMatchObject({ ok: false, reason: "mismatch" });
        });

        it("a timestamp that is not a plain decimal integer is bad_encoding", async () => {
          const { body, headers } = signFixture(k0, fixtures[0] as ProviderFixture, 0);
          for (const bad of ["+1700000000", "1700000000.0", "1.7e9", ` ${nowSeconds}`, `${nowSeconds} `, "-5", "0x6553f100", "abc", "1".repeat(13)]) {
            expect(await verifyWith(p, body, { ...headers, [timestampHeader]: bad })).toMatchObject({ ok: false, reason: "bad_encoding" });
          }
        });
      }

      if (expires) {
        it(`timestamps exactly ${tolerance} s away pass, ${tolerance + 1} s fail both ways`, async () => {
          const fixture = fixtures[0] as ProviderFixture;
          const at = async (offset: number, clock = now) => {
            const signed = signFixture(k0, fixture, 0, nowSeconds + offset);
            return settle(await p.verify({ ...request(signed.body, signed.headers), now: clock }));
          };
          expect(await at(-tolerance)).toMatchObject({ ok: true });
          expect(await at(tolerance)).toMatchObject({ ok: true });
          expect(await at(-tolerance - 1)).toMatchObject({ ok: false, reason: "timestamp_too_old" });
          expect(await at(tolerance + 1)).toMatchObject({ ok: false, reason: "timestamp_too_new" });
          // Sub-second clock: still whole seconds, as the provider SDKs count them.
          expect(await at(-tolerance, now + 999)).toMatchObject({ ok: true });
        });
      }

      it("each signature header is required; empty counts as missing; repeated is bad_encoding", async () => {
        const { body, headers } = signFixture(k0, fixtures[0] as ProviderFixture, 0);
        const names = Object.keys(headers);
        if (covers === "bytes" || covers === "form") expect(names.length).toBeGreaterThan(0);
        for (const name of names) {
          const without: Record<string, string> = { ...headers };
          delete without[name];
          expect(await verifyWith(p, body, without), `without ${name}`).toMatchObject({ ok: false, reason: "missing_header" });
          expect(await verifyWith(p, body, { ...headers, [name]: "" }), `empty ${name}`).toMatchObject({ ok: false, reason: "missing_header" });
          const value = headers[name] as string;
          expect(await verifyWith(p, body, { ...headers, [name]: [value, value] }), `repeated ${name}`).toMatchObject({ ok: false, reason: "bad_encoding" });
          expect(await verifyWith(p, body, { ...headers, [name]: [value] }), `one-element array ${name}`).toMatchObject({ ok: true });
        }
      });

      it("rotation: both configured keys verify, a removed or unknown key is a mismatch", async () => {
        const both = runtime([k0, k1]);
        const onlyNew = runtime([k1]);
        for (const [i, fixture] of fixtures.entries()) {
          const with0 = signFixture(k0, fixture, i);
          const with1 = signFixture(k1, fixture, i);
          const with2 = signFixture(k2, fixture, i);
          expect(await verifyWith(both, with0.body, with0.headers)).toMatchObject({ ok: true });
          expect(await verifyWith(both, with1.body, with1.headers)).toMatchObject({ ok: true });
          expect(await verifyWith(onlyNew, with0.body, with0.headers)).toMatchObject({ ok: false, reason: unknownKey });
          expect(await verifyWith(both, with2.body, with2.headers)).toMatchObject({ ok: false, reason: unknownKey });
        }
      });

      if (options.singleUse) {
        it("a signature is single-use: the second use is replayed, until the first is released", async () => {
          const { body, headers } = signFixture(k0, fixtures[0] as ProviderFixture, 0);
          const first = await p.verify(request(body, headers));
          expect(first).toMatchObject({ ok: true });
          expect(await p.verify(request(body, headers))).toMatchObject({ ok: false, reason: "replayed" });
          expect(await p.verify(request(body, headers))).toMatchObject({ ok: false, reason: "replayed" });
          if (first.ok) first.release?.();
          expect(settle(await p.verify(request(body, headers)))).toMatchObject({ ok: true });
          // handle hands the claim on (with the events, or with a body kept unmapped).
          const handled = await p.handle(request(body, headers));
          if (handled.ok || "verified" in handled) {
            expect(await p.verify(request(body, headers))).toMatchObject({ ok: false, reason: "replayed" });
            settle(handled);
          }
          expect(settle(await p.verify(request(body, headers)))).toMatchObject({ ok: true });
        });
      }
    });

    describe("extract", () => {
      const p = runtime([k0]);

      it.each(fixtures.map((f, i) => [f.name, f, i] as const))("%s: normalizes to the expected events", async (_name, fixture, i) => {
        const signed = signFixture(k0, fixture, i);
        const result = await handleWith(p, signed.body, signed.headers);
        if (fixture.expected.ok) {
          const expected = fixture.expected.unmapped
            ? { ...fixture.expected, unmapped: fixture.expected.unmapped.map((u) => ({ reason: u.reason, body: Buffer.from(fixtureBody(u)).toString("utf8") })) }
            : fixture.expected;
          expect(plain(result)).toEqual(expected);
          if (result.ok) {
            // Each unmapped part is something the same plugin refuses alone, for the same reason (a replay).
            for (const part of result.unmapped ?? []) {
              expect(extractVerifiedBody(definition, part.body, result.id, { url, method: "POST", now })).toMatchObject({ ok: false, reason: part.reason });
            }
            for (const event of result.events) expectNormalizedEvent(event, definition.id);
            const ids = result.events.map((e) => e.providerEventId);
            expect(new Set(ids).size, "event ids are unique within a webhook").toBe(ids.length);
          }
        } else {
          expect(result).toMatchObject({ ok: false, reason: fixture.expected.reason });
        }
      });

      it("is deterministic: the same body extracts to equal events twice", () => {
        fixtures.forEach((fixture, i) => {
          const verified = { ok: true as const, id: deliveryIdOf(fixture, i) };
          const body = signFixture(k0, fixture, i).body;
          const once = p.extract(body, verified, { url, method: "POST", now });
          expect(once).toEqual(p.extract(body, verified, { url, method: "POST", now }));
        });
      });
    });

    describe("properties", () => {
      const p = runtime([k0]);
      const arbitraryBody = formLike
        ? fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 24 }), { maxKeys: 8 }).map((d) => Buffer.from(formBody(d), "utf8"))
        : fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "null", "utf8"));
      const validlySignedRejections: readonly string[] = covers === "bytes" ? ["malformed", "unsupported_event"] : ["malformed", "unsupported_event", ...VERIFY_FAILURE_REASONS];

      it("arbitrary bytes under a signature made for another body: a typed refusal, never a throw", async () => {
        const fixture = fixtures[0] as ProviderFixture;
        const { body: original, headers } = signFixture(k0, fixture, 0);
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (body) => {
            fc.pre(Buffer.compare(Buffer.from(body), Buffer.from(original)) !== 0);
            const result = await handleWith(p, body, headers);
            if (covers === "bytes") return !result.ok && result.reason === "mismatch";
            if (covers === "form") return !result.ok || isDeepStrictEqual(parseForm(body), parseForm(original));
            return result.ok ? result.events.every((e) => e.provider === definition.id) : typeof result.reason === "string";
          }),
          { numRuns },
        );
      });

      it("arbitrary headers: a typed verify rejection, never a throw, never ok", async () => {
        const fixture = fixtures[0] as ProviderFixture;
        const { body, headers: signed } = signFixture(k0, fixture, 0);
        // A signature carried wholly in the body does not depend on any header.
        if (Object.keys(signed).length === 0) return;
        const names = [...Object.keys(signed), "content-type", "authorization", "x-other"];
        const arbitraryHeaders = fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string()), headerValue, { maxKeys: 8 });
        await fc.assert(
          fc.asyncProperty(arbitraryHeaders, fc.boolean(), async (random, overlay) => {
            const headers = overlay ? { ...signed, ...random } : random;
            // Overlaying the exact signed values back is not a forgery.
            fc.pre(!Object.keys(signed).every((name) => headers[name] === signed[name]));
            const result = await verifyWith(p, body, headers);
            return !result.ok && VERIFY_FAILURE_REASONS.includes(result.reason);
          }),
          { numRuns },
        );
      });

      it("an arbitrary body, validly signed: ok with well-formed events or a typed refusal", async () => {
        await fc.assert(
          fc.asyncProperty(arbitraryBody, async (raw) => {
            const { body, headers } = signBody(k0, raw, nowSeconds, "msg_property");
            const result = await handleWith(p, body, headers);
            if (result.ok) {
              for (const event of result.events) expectNormalizedEvent(event, definition.id);
              return result.id.length > 0;
            }
            return validlySignedRejections.includes(result.reason);
          }),
          { numRuns },
        );
      });

      it("an arbitrary body signed with a key that is not configured: never ok", async () => {
        await fc.assert(
          fc.asyncProperty(arbitraryBody, async (raw) => {
            const { body, headers } = signBody(k2, raw, nowSeconds, "msg_forged");
            const result = await handleWith(p, body, headers);
            return !result.ok && VERIFY_FAILURE_REASONS.includes(result.reason as (typeof VERIFY_FAILURE_REASONS)[number]);
          }),
          { numRuns },
        );
      });

      it("arbitrary bytes given to extract: never a throw", () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 512 }), (body) => {
            const result = p.extract(body, { ok: true, id: "msg_property" }, { url, method: "POST", now });
            return result.ok || result.reason === "malformed" || result.reason === "unsupported_event";
          }),
          { numRuns },
        );
      });
    });
  });
}
