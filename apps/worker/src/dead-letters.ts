import { decodeEvents, type NormalizedEvent } from "@floodgate/provider-kit";
import {
  countDeadLetters,
  getDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  type DeadLetter,
  type DeadLetterConfig,
  type DeadLetterFilter,
  type QueueConnection,
} from "@floodgate/queue";

/** A dead letter as operators see it: why, when, and the events it carries. */
export interface DeadLetterView {
  seq: number;
  reason: string;
  error: string;
  attempts: number;
  provider: string;
  type: string;
  deadAt: string;
  originalSubject: string;
  originalSeq: number;
  originalMsgId?: string;
  /** The decoded events, or null when the body does not decode (then `raw` holds it, base64). */
  events: NormalizedEvent[] | null;
  raw?: string;
}

export function viewOf(d: DeadLetter): DeadLetterView {
  let events: NormalizedEvent[] | null = null;
  try {
    events = decodeEvents(d.data);
  } catch {
    events = null;
  }
  const { info } = d;
  return {
    seq: d.seq,
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

/** The dead-letter operations shared by the CLI and the admin HTTP API. */
export function createDeadLetterOps(queue: QueueConnection, dlq: DeadLetterConfig) {
  return {
    count: () => countDeadLetters(queue.jsm, dlq),
    async list(filter: DeadLetterFilter, limit = 100, afterSeq = 0): Promise<DeadLetterView[]> {
      return (await listDeadLetters(queue.jsm, dlq, filter, { limit, afterSeq })).map(viewOf);
    },
    async get(seq: number): Promise<DeadLetterView | null> {
      const d = await getDeadLetter(queue.jsm, dlq, seq);
      return d ? viewOf(d) : null;
    },
    replay: (seq: number) => replayDeadLetter(queue.js, queue.jsm, dlq, seq),
    replayMatching: (filter: DeadLetterFilter) => replayDeadLetters(queue.js, queue.jsm, dlq, filter),
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
