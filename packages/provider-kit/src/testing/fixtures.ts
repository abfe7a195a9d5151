import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { STATUSES, type NormalizedEvent } from "../event.js";
import type { ExtractFailureReason } from "../extract.js";

/**
 * What a fixture's body should extract to. `unmapped` lists the parts of a multi-event body
 * the plugin could not map: the reason, and the part's body (a string used byte for byte, or a
 * JSON value), which the same plugin's extract must refuse alone for the same reason.
 */
export type FixtureExpectation =
  | { ok: true; id: string; events: NormalizedEvent[]; unmapped?: { reason: ExtractFailureReason; body: unknown }[] }
  | { ok: false; reason: ExtractFailureReason };

/**
 * One real-shaped delivery and what it must normalize to. Stored one per JSON file in a
 * provider's `fixtures/` folder.
 */
export interface ProviderFixture {
  /** Test title; defaults to the file name. */
  name: string;
  /** Delivery id to sign with, for schemes whose signature covers one (`svix-id`). */
  deliveryId?: string;
  /** Raw body: a string is used byte for byte, any other JSON value is `JSON.stringify`-ed. */
  body: unknown;
  expected: FixtureExpectation;
}

const eventSchema = z.strictObject({
  provider: z.string(),
  providerEventId: z.string(),
  providerMessageId: z.string(),
  recipient: z.string(),
  type: z.string(),
  status: z.enum(STATUSES),
  rawStatus: z.string(),
  occurredAt: z.number(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
});

const fixtureSchema = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  deliveryId: z.string().min(1).optional(),
  body: z.unknown().refine((v) => v !== undefined, "body is required"),
  expected: z.discriminatedUnion("ok", [
    z.strictObject({
      ok: z.literal(true),
      id: z.string().min(1),
      events: z.array(eventSchema),
      unmapped: z.array(z.strictObject({ reason: z.enum(["malformed", "unsupported_event"]), body: z.unknown() })).optional(),
    }),
    z.strictObject({ ok: z.literal(false), reason: z.enum(["malformed", "unsupported_event"]) }),
  ]),
});

/** The exact bytes a fixture's body (or an expected unmapped part's body) stands for. */
export function fixtureBody(fixture: Pick<ProviderFixture, "body">): Uint8Array {
  return Buffer.from(typeof fixture.body === "string" ? fixture.body : JSON.stringify(fixture.body), "utf8");
}

/**
 * Reads every `*.json` fixture in a folder (sorted by name) and checks its shape.
 *
 * @param directory a path or a `file:` URL, e.g. `new URL("../fixtures/", import.meta.url)`.
 */
export function loadFixtures(directory: string | URL): ProviderFixture[] {
  const dir = typeof directory === "string" ? directory : fileURLToPath(directory);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  return files.map((file) => {
    const raw: unknown = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const parsed = fixtureSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`fixture ${file} is invalid: ${z.prettifyError(parsed.error)}`);
    const { name, deliveryId, body, expected } = parsed.data;
    const fixture: ProviderFixture = { name: name ?? file.replace(/\.json$/, ""), body, expected };
    if (deliveryId !== undefined) fixture.deliveryId = deliveryId;
    return fixture;
  });
}
