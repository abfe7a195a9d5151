import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ProviderEnv } from "../config.js";
import type { ProviderDefinition } from "../define-provider.js";
import { ProviderConfigError } from "../errors.js";
import { STATUSES, type NormalizedEvent } from "../event.js";
import { createProviderRuntime, type ProviderRuntime } from "../runtime.js";
import { VERIFY_FAILURE_REASONS, type RequestHeaders, type VerifyRequest } from "../verification.js";
import { fixtureBody, type ProviderFixture } from "./fixtures.js";

/** How the conformance suite signs and configures a provider. */
export interface ProviderConformanceOptions<Config, Key> {
  definition: ProviderDefinition<Config>;
  fixtures: readonly ProviderFixture[];
  /** Three distinct keys. The first two are configured together (rotation); the third never is. */
  keys: readonly [Key, Key, Key];
  /** The environment configuring exactly `keys` (an empty list: no secret at all). */
  env(keys: readonly Key[]): ProviderEnv;
  /**
   * Signs `body` as the provider would and returns the headers it sends for the signature,
   * and only those (the suite removes each one in turn and expects `missing_header`).
   */
  sign(key: Key, body: Uint8Array, options: { timestamp: number; deliveryId: string }): Record<string, string>;
  /** Header holding the Unix timestamp. */
  timestampHeader: string;
  /** Default 300. */
  toleranceSeconds?: number;
  /** Fixed clock for the suite, epoch ms; default 2023-11-14T22:13:20Z. */
  now?: number;
  /** Bodies up to this length are tampered at every byte; longer ones at a dense sample. Default 2048. */
  exhaustiveTamperLimit?: number;
  /** fast-check runs per property; default 200. */
  propertyRuns?: number;
}

const URL_ = "https://gateway.test/hooks";

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

const headerValue = fc.oneof(
  fc.string(),
  fc.constant(""),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constant(undefined),
  fc.stringMatching(/^v1,[A-Za-z0-9+/]{43}=$/),
  fc.stringMatching(/^[A-Za-z0-9+/]{86}==$/),
  fc.integer({ min: 0, max: 2_000_000_000 }).map(String),
);

/**
 * Registers the shared conformance tests for a provider: sign, verify, tamper with every byte,
 * expire, rotate keys, fail closed, drop headers, extract every fixture, and fuzz verify and
 * extract with fast-check. Call it at the top level of a provider's test file.
 */
export function runProviderConformance<Config, Key>(options: ProviderConformanceOptions<Config, Key>): void {
  const { definition, fixtures, keys, env, sign, timestampHeader } = options;
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.now ?? 1_700_000_000_000;
  const nowSeconds = Math.floor(now / 1000);
  const tamperLimit = options.exhaustiveTamperLimit ?? 2048;
  const numRuns = options.propertyRuns ?? 200;
  const [k0, k1, k2] = keys;

  const runtime = (configured: readonly Key[]): ProviderRuntime => createProviderRuntime(definition, env(configured));
  const request = (body: Uint8Array, headers: RequestHeaders): VerifyRequest => ({ body, headers, url: URL_, method: "POST", now });
  const deliveryIdOf = (fixture: ProviderFixture, i: number) => fixture.deliveryId ?? `msg_conformance_${i}`;
  const signFixture = (key: Key, fixture: ProviderFixture, i: number, timestamp = nowSeconds) =>
    sign(key, fixtureBody(fixture), { timestamp, deliveryId: deliveryIdOf(fixture, i) });

  describe(`provider ${definition.id}: conformance`, () => {
    it("has fixtures", () => {
      expect(fixtures.length).toBeGreaterThan(0);
    });

    describe("configuration", () => {
      it("fails closed without a secret: construction throws or every request is refused", () => {
        let p: ProviderRuntime | undefined;
        try {
          p = runtime([]);
        } catch (error) {
          expect(error).toBeInstanceOf(ProviderConfigError);
          expect((error as ProviderConfigError).variables.length).toBeGreaterThan(0);
        }
        if (p === undefined) return;
        fixtures.forEach((fixture, i) => {
          const result = p.handle(request(fixtureBody(fixture), signFixture(k0, fixture, i)));
          expect(result.ok).toBe(false);
        });
      });
    });

    describe("signatures", () => {
      const p = runtime([k0]);

      it.each(fixtures.map((f, i) => [f.name, f, i] as const))("%s: a signed body verifies", (_name, fixture, i) => {
        const result = p.verify(request(fixtureBody(fixture), signFixture(k0, fixture, i)));
        expect(result).toMatchObject({ ok: true });
        if (fixture.deliveryId !== undefined && result.ok && result.id !== undefined) expect(result.id).toBe(fixture.deliveryId);
      });

      it.each(fixtures.map((f, i) => [f.name, f, i] as const))("%s: flipping any byte of the body is a mismatch", (_name, fixture, i) => {
        const body = fixtureBody(fixture);
        const headers = signFixture(k0, fixture, i);
        const tampered = new Uint8Array(body);
        const positions = tamperPositions(body.length, tamperLimit);
        for (const pos of positions) {
          const original = tampered[pos] as number;
          tampered[pos] = original ^ (1 << (pos % 8));
          const result = p.verify(request(tampered, headers));
          if (result.ok || result.reason !== "mismatch") {
            expect.fail(`byte ${pos} flipped: expected mismatch, got ${JSON.stringify(result)}`);
          }
          tampered[pos] = original;
        }
        expect(positions.length).toBeGreaterThan(0);
      });

      it("a truncated or extended body is a mismatch", () => {
        const fixture = fixtures[0] as ProviderFixture;
        const body = fixtureBody(fixture);
        const headers = signFixture(k0, fixture, 0);
        expect(p.verify(request(body.subarray(0, body.length - 1), headers))).toMatchObject({ ok: false, reason: "mismatch" });
        expect(p.verify(request(Buffer.concat([body, Buffer.from(" ")]), headers))).toMatchObject({ ok: false, reason: "mismatch" });
        expect(p.verify(request(new Uint8Array(0), headers))).toMatchObject({ ok: false, reason: "mismatch" });
      });

      it("the timestamp is covered by the signature", () => {
        const fixture = fixtures[0] as ProviderFixture;
        const headers = { ...signFixture(k0, fixture, 0), [timestampHeader]: String(nowSeconds + 1) };
        expect(p.verify(request(fixtureBody(fixture), headers))).toMatchObject({ ok: false, reason: "mismatch" });
      });

      it(`timestamps exactly ${tolerance} s away pass, ${tolerance + 1} s fail both ways`, () => {
        const fixture = fixtures[0] as ProviderFixture;
        const body = fixtureBody(fixture);
        const at = (offset: number) => p.verify(request(body, signFixture(k0, fixture, 0, nowSeconds + offset)));
        expect(at(-tolerance)).toMatchObject({ ok: true });
        expect(at(tolerance)).toMatchObject({ ok: true });
        expect(at(-tolerance - 1)).toMatchObject({ ok: false, reason: "timestamp_too_old" });
        expect(at(tolerance + 1)).toMatchObject({ ok: false, reason: "timestamp_too_new" });
        // Sub-second clock: still whole seconds, as the provider SDKs count them.
        const late = p.verify({ ...request(body, signFixture(k0, fixture, 0, nowSeconds - tolerance)), now: now + 999 });
        expect(late).toMatchObject({ ok: true });
      });

      it("a timestamp that is not a plain decimal integer is bad_encoding", () => {
        const fixture = fixtures[0] as ProviderFixture;
        const headers = signFixture(k0, fixture, 0);
        for (const bad of ["+1700000000", "1700000000.0", "1.7e9", ` ${nowSeconds}`, `${nowSeconds} `, "-5", "0x6553f100", "abc", "1".repeat(13)]) {
          expect(p.verify(request(fixtureBody(fixture), { ...headers, [timestampHeader]: bad }))).toMatchObject({ ok: false, reason: "bad_encoding" });
        }
      });

      it("each signature header is required; empty counts as missing; repeated is bad_encoding", () => {
        const fixture = fixtures[0] as ProviderFixture;
        const body = fixtureBody(fixture);
        const headers = signFixture(k0, fixture, 0);
        const names = Object.keys(headers);
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) {
          const without: Record<string, string> = { ...headers };
          delete without[name];
          expect(p.verify(request(body, without)), `without ${name}`).toMatchObject({ ok: false, reason: "missing_header" });
          expect(p.verify(request(body, { ...headers, [name]: "" })), `empty ${name}`).toMatchObject({ ok: false, reason: "missing_header" });
          const value = headers[name] as string;
          expect(p.verify(request(body, { ...headers, [name]: [value, value] })), `repeated ${name}`).toMatchObject({ ok: false, reason: "bad_encoding" });
          expect(p.verify(request(body, { ...headers, [name]: [value] })), `one-element array ${name}`).toMatchObject({ ok: true });
        }
      });

      it("rotation: both configured keys verify, a removed or unknown key is a mismatch", () => {
        const both = runtime([k0, k1]);
        const onlyNew = runtime([k1]);
        fixtures.forEach((fixture, i) => {
          const body = fixtureBody(fixture);
          expect(both.verify(request(body, signFixture(k0, fixture, i)))).toMatchObject({ ok: true });
          expect(both.verify(request(body, signFixture(k1, fixture, i)))).toMatchObject({ ok: true });
          expect(onlyNew.verify(request(body, signFixture(k0, fixture, i)))).toMatchObject({ ok: false, reason: "mismatch" });
          expect(both.verify(request(body, signFixture(k2, fixture, i)))).toMatchObject({ ok: false, reason: "mismatch" });
        });
      });
    });

    describe("extract", () => {
      const p = runtime([k0]);

      it.each(fixtures.map((f, i) => [f.name, f, i] as const))("%s: normalizes to the expected events", (_name, fixture, i) => {
        const result = p.handle(request(fixtureBody(fixture), signFixture(k0, fixture, i)));
        if (fixture.expected.ok) {
          expect(result).toEqual(fixture.expected);
          if (result.ok) for (const event of result.events) expectNormalizedEvent(event, definition.id);
        } else {
          expect(result).toMatchObject({ ok: false, reason: fixture.expected.reason });
        }
      });

      it("is deterministic: the same body extracts to equal events twice", () => {
        fixtures.forEach((fixture, i) => {
          const verified = { ok: true as const, id: deliveryIdOf(fixture, i) };
          expect(p.extract(fixtureBody(fixture), verified)).toEqual(p.extract(fixtureBody(fixture), verified));
        });
      });
    });

    describe("properties", () => {
      const p = runtime([k0]);

      it("arbitrary bytes under a signature made for another body: typed mismatch, never a throw", () => {
        const fixture = fixtures[0] as ProviderFixture;
        const original = fixtureBody(fixture);
        const headers = signFixture(k0, fixture, 0);
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 2048 }), (body) => {
            fc.pre(Buffer.compare(Buffer.from(body), Buffer.from(original)) !== 0);
            const result = p.handle(request(body, headers));
            return !result.ok && result.reason === "mismatch";
          }),
          { numRuns },
        );
      });

      it("arbitrary headers: a typed verify rejection, never a throw, never ok", () => {
        const fixture = fixtures[0] as ProviderFixture;
        const body = fixtureBody(fixture);
        const signed = signFixture(k0, fixture, 0);
        const names = [...Object.keys(signed), "content-type", "x-other"];
        const arbitraryHeaders = fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string()), headerValue, { maxKeys: 8 });
        fc.assert(
          fc.property(arbitraryHeaders, fc.boolean(), (random, overlay) => {
            const headers = overlay ? { ...signed, ...random } : random;
            // Overlaying the exact signed values back is not a forgery.
            fc.pre(!Object.keys(signed).every((name) => headers[name] === signed[name]));
            const result = p.verify(request(body, headers));
            return !result.ok && VERIFY_FAILURE_REASONS.includes(result.reason);
          }),
          { numRuns },
        );
      });

      it("arbitrary JSON, validly signed: extract answers ok with well-formed events or a typed rejection", () => {
        fc.assert(
          fc.property(fc.jsonValue(), (value) => {
            const body = Buffer.from(JSON.stringify(value) ?? "null", "utf8");
            const result = p.handle(request(body, sign(k0, body, { timestamp: nowSeconds, deliveryId: "msg_property" })));
            if (result.ok) {
              for (const event of result.events) expectNormalizedEvent(event, definition.id);
              return result.id.length > 0;
            }
            return result.reason === "malformed" || result.reason === "unsupported_event";
          }),
          { numRuns },
        );
      });

      it("arbitrary JSON signed with a key that is not configured: never ok", () => {
        fc.assert(
          fc.property(fc.jsonValue(), (value) => {
            const body = Buffer.from(JSON.stringify(value) ?? "null", "utf8");
            const result = p.handle(request(body, sign(k2, body, { timestamp: nowSeconds, deliveryId: "msg_forged" })));
            return !result.ok && result.reason === "mismatch";
          }),
          { numRuns },
        );
      });

      it("arbitrary bytes given to extract: never a throw", () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 512 }), (body) => {
            const result = p.extract(body, { ok: true, id: "msg_property" });
            return result.ok || result.reason === "malformed" || result.reason === "unsupported_event";
          }),
          { numRuns },
        );
      });
    });
  });
}
