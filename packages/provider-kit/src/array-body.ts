import type { NormalizedEvent } from "./event.js";
import { acknowledged, extracted, malformed, unmappedPart, type ExtractContext, type ExtractFailure, type ExtractResult, type UnmappedPart } from "./extract.js";
import { digestId } from "./ids.js";

/**
 * What a provider's item mapper returns for one element of a JSON-array body: its event, `null`
 * for an item that carries nothing to apply (an inbound message), or why it cannot be mapped.
 */
export type ItemResult = NormalizedEvent | ExtractFailure | null;

const utf8 = new TextEncoder();

/**
 * Maps a body that is a JSON array of events, one POST carrying many (SendGrid, Bandwidth), with
 * `mapItem` for each element:
 * - events are deduplicated by `providerEventId` (a retried POST may regroup the items);
 * - an item that cannot be mapped does not refuse the others: it becomes an unmapped part, the
 *   one-item array `[item]` (which this same extract accepts alone at replay), kept by the
 *   gateway in the dead letters; a body of that one item fails as itself;
 * - the POST's delivery id is a digest of its body (such providers send none).
 */
export function extractArrayItems(body: unknown, context: ExtractContext, mapItem: (item: unknown, context: ExtractContext) => ItemResult): ExtractResult {
  if (!Array.isArray(body)) return malformed("body is not a JSON array");
  const events: NormalizedEvent[] = [];
  const unmapped: UnmappedPart[] = [];
  const seen = new Set<string>();
  for (const item of body as unknown[]) {
    const mapped = mapItem(item, context);
    if (mapped === null) continue;
    if ("ok" in mapped) {
      if (body.length === 1) return mapped;
      unmapped.push(unmappedPart(mapped, utf8.encode(JSON.stringify([item]))));
      continue;
    }
    if (seen.has(mapped.providerEventId)) continue;
    seen.add(mapped.providerEventId);
    events.push(mapped);
  }
  const id = digestId(context.body);
  return events.length === 0 && unmapped.length === 0 ? acknowledged(id) : extracted(id, events, unmapped);
}
