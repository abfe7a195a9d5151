import { providers as gatewayProviders } from "@floodgate/gateway/providers";
import { decodeEvents, encodeEvents, extractVerifiedBody, type NormalizedEvent, type ProviderDefinition } from "@floodgate/provider-kit";
import {
  countDeadLetters,
  getDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  subjectFor,
  workSubjectPrefixOf,
  type DeadLetter,
  type DeadLetterConfig,
  type DeadLetterFilter,
  type DeadLetterKind,
  type QueueConnection,
  type RawReplay,
  type RawRequestInfo,
} from "@floodgate/queue";

/** A dead letter as operators see it: why, when, and the events it carries. */
export interface DeadLetterView {
  seq: number;
  /** `events`: the worker could not apply them; `raw`: a verified webhook the plugin could not map. */
  kind: DeadLetterKind;
  reason: string;
  error: string;
  attempts: number;
  provider: string;
  type: string;
  deadAt: string;
  originalSubject: string;
  originalSeq: number;
  originalMsgId?: string;
  /** The decoded events, or null when the body does not decode or is raw (then `raw` holds it, base64). */
  events: NormalizedEvent[] | null;
  raw?: string;
  /** Raw letters: how the request was verified, its delivery id and content type. */
  request?: RawRequestInfo;
  /** Raw letters: the body as text, when it is UTF-8. */
  body?: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function textOf(data: Uint8Array): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

function eventsOf(d: DeadLetter): NormalizedEvent[] | null {
  if (d.info.kind === "raw") return null;
  try {
    return decodeEvents(d.data);
  } catch {
    return null;
  }
}

export function viewOf(d: DeadLetter): DeadLetterView {
  const events = eventsOf(d);
  const { info } = d;
  const body = info.kind === "raw" ? textOf(d.data) : undefined;
  return {
    seq: d.seq,
    kind: info.kind,
    reason: info.reason,
    error: info.error,
    attempts: info.attempts,
    provider: info.provider,
    type: info.type,
    deadAt: new Date(info.deadAt).toISOString(),
    originalSubject: info.originalSubject,
    originalSeq: info.originalSeq,
    ...(info.originalMsgId ? { originalMsgId: info.originalMsgId } : {}),
    events,
    ...(events === null ? { raw: Buffer.from(d.data).toString("base64") } : {}),
    ...(info.raw ? { request: info.raw } : {}),
    ...(body !== undefined ? { body } : {}),
  };
}

/** What replay needs of a provider plugin: its id and its extract. */
export type ReplayProvider = Pick<ProviderDefinition, "id" | "extract">;

/**
 * Runs raw dead letters (verified webhooks the gateway could not map) through provider plugins:
 * no second signature check (the letter records that it verified on receipt). Mapped events go to
 * the work queue under `<prefix>.<provider>.<type>`, like the gateway would have published them;
 * what the plugin still cannot map stays a dead letter with the plugin's new reason and detail.
 */
export function createRawResolver(providers: readonly ReplayProvider[]): (letter: DeadLetter) => RawReplay {
  const byId = new Map(providers.map((p) => [p.id, p]));
  return function resolveRaw(letter) {
    const { info } = letter;
    const provider = byId.get(info.provider);
    if (!provider) return { messages: [], unmapped: [{ reason: info.reason, detail: `no provider plugin "${info.provider}" in this build`, body: letter.data }] };
    const result = extractVerifiedBody(provider, letter.data, info.raw?.deliveryId);
    if (!result.ok) return { messages: [], unmapped: [{ reason: result.reason, detail: result.detail, body: letter.data }] };
    const first = result.events[0];
    return {
      messages: first ? [{ subject: subjectFor(workSubjectPrefixOf(info), info.provider, first.type), data: encodeEvents(result.events) }] : [],
      unmapped: (result.unmapped ?? []).map((part) => ({ reason: part.reason, detail: part.detail, body: part.body })),
    };
  };
}

/** Thrown for an operator's bad filter or argument; its message says what to fix. */
export class DeadLetterRequestError extends Error {
  override name = "DeadLetterRequestError";
}

function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new DeadLetterRequestError(`${name} must be an ISO date or epoch milliseconds, got ${JSON.stringify(value)}`);
  return t;
}

/** Builds a filter from string parameters (query string or CLI flags). */
export function filterFrom(params: { provider?: string; type?: string; reason?: string; since?: string; until?: string }): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (params.provider) filter.provider = params.provider;
  if (params.type) filter.type = params.type;
  if (params.reason) filter.reason = params.reason;
  const since = parseTime("since", params.since);
  const until = parseTime("until", params.until);
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  return filter;
}

export function isEmptyFilter(filter: DeadLetterFilter): boolean {
  return Object.values(filter).every((v) => v === undefined);
}

/** Options of {@link createDeadLetterOps}. */
export interface DeadLetterOpsOptions {
  /**
   * The provider plugins raw letters are replayed through. Default: the gateway's own list
   * (apps/gateway/src/providers.ts), so a replay after a plugin upgrade uses the upgraded mapping.
   */
  providers?: readonly ReplayProvider[];
}

/** The dead-letter operations shared by the CLI and the admin HTTP API. */
export function createDeadLetterOps(queue: QueueConnection, dlq: DeadLetterConfig, options: DeadLetterOpsOptions = {}) {
  const replayOptions = { resolveRaw: createRawResolver(options.providers ?? gatewayProviders) };
  return {
    count: () => countDeadLetters(queue.jsm, dlq),
    async list(filter: DeadLetterFilter, limit = 100, afterSeq = 0): Promise<DeadLetterView[]> {
      return (await listDeadLetters(queue.jsm, dlq, filter, { limit, afterSeq })).map(viewOf);
    },
    async get(seq: number): Promise<DeadLetterView | null> {
      const d = await getDeadLetter(queue.jsm, dlq, seq);
      return d ? viewOf(d) : null;
    },
    replay: (seq: number) => replayDeadLetter(queue.js, queue.jsm, dlq, seq, replayOptions),
    /** Replays every letter matching `filter` that exists when it starts (no endless loop on letters that come back). */
    replayMatching: (filter: DeadLetterFilter) => replayDeadLetters(queue.js, queue.jsm, dlq, filter, replayOptions),
    /** Purges one (by seq) or all matching; an empty filter purges only with `all`. */
    async purge(target: number | DeadLetterFilter, all = false): Promise<number> {
      if (typeof target !== "number" && isEmptyFilter(target) && !all) {
        throw new DeadLetterRequestError("refusing to purge every dead letter without an explicit `all`");
      }
      return purgeDeadLetters(queue.jsm, dlq, target);
    },
  };
}

export type DeadLetterOps = ReturnType<typeof createDeadLetterOps>;
