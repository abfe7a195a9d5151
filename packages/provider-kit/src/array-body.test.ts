import { describe, expect, it } from "vitest";
import { extractArrayItems, type ItemResult } from "./array-body.js";
import { malformed, unsupportedEvent, type ExtractContext } from "./extract.js";
import { digestId } from "./ids.js";
import type { NormalizedEvent } from "./event.js";

const body = Buffer.from("[...]");
const context: ExtractContext = { provider: "acme", deliveryId: undefined, body, receivedAt: 1 };
const event = (id: string): NormalizedEvent => ({ provider: "acme", providerEventId: id, providerMessageId: `m-${id}`, recipient: "", type: "t", status: "delivered", rawStatus: "t", occurredAt: 1, errorCode: null, errorMessage: null });

/** Items are `{ id }` (an event), `{ skip }` (nothing to apply) or `{ bad }` (unmappable). */
function mapItem(item: unknown): ItemResult {
  const o = item as { id?: string; skip?: boolean; bad?: string };
  if (o.skip) return null;
  if (o.bad) return unsupportedEvent(`event ${o.bad}`);
  return o.id ? event(o.id) : malformed("no id");
}

describe("extractArrayItems", () => {
  it("maps each item, dedups by event id, skips what carries nothing, and names the POST by its digest", () => {
    const r = extractArrayItems([{ id: "a" }, { skip: true }, { id: "b" }, { id: "a" }], context, mapItem);
    expect(r).toEqual({ ok: true, id: digestId(body), events: [event("a"), event("b")] });
  });

  it("keeps an unmappable item as a one-item array part, without refusing the others", () => {
    const r = extractArrayItems([{ id: "a" }, { bad: "new.kind" }], context, mapItem);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.events).toEqual([event("a")]);
    expect(r.unmapped).toHaveLength(1);
    expect(r.unmapped![0]).toMatchObject({ reason: "unsupported_event", detail: "event new.kind" });
    expect(JSON.parse(Buffer.from(r.unmapped![0]!.body).toString())).toEqual([{ bad: "new.kind" }]);
  });

  it("fails a body of one unmappable item as itself (what a replay of a kept part sees)", () => {
    expect(extractArrayItems([{ bad: "new.kind" }], context, mapItem)).toEqual(unsupportedEvent("event new.kind"));
  });

  it("acknowledges a body with nothing to apply, and refuses one that is not an array", () => {
    expect(extractArrayItems([{ skip: true }], context, mapItem)).toEqual({ ok: true, id: digestId(body), events: [] });
    expect(extractArrayItems({ id: "a" }, context, mapItem)).toEqual(malformed("body is not a JSON array"));
  });
});
