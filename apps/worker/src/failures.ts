/**
 * How the worker tells failures apart: the database being unavailable (hold the work and wait:
 * it is not the events' fault), a transaction conflict (retry at once), or a problem with the
 * data itself (isolate the culprit, retry it with backoff, then dead-letter it).
 */

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** SQLSTATEs meaning "the server cannot serve you now", not "your data is wrong". */
function isUnavailableState(code: string): boolean {
  return (
    code.startsWith("08") || // connection exception
    code === "57P01" || // admin_shutdown
    code === "57P02" || // crash_shutdown
    code === "57P03" || // cannot_connect_now (starting up, shutting down)
    code === "53300" || // too_many_connections
    code === "53100" || // disk_full
    code === "53200" || // out_of_memory
    code === "58000" || // system_error
    code === "58030" // io_error
  );
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * True when `err` says the database is unreachable or unavailable. These open the circuit
 * breaker; the batch is held and retried, and never counts toward dead-lettering.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = codeOf(e);
    if (code && (CONNECTION_CODES.has(code) || isUnavailableState(code))) return true;
    const message = e instanceof Error ? e.message : "";
    if (/Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)|terminating connection/i.test(message)) {
      return true;
    }
  }
  return false;
}

/** True for serialization failures and deadlocks: the same transaction may well succeed at once. */
export function isTransactionConflict(err: unknown): boolean {
  const code = codeOf(err);
  return code === "40001" || code === "40P01";
}

export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  baseMs: number;
  /** Cap on any delay, ms. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": after failed attempt n the delay is drawn from
 * [d/2, d] with d = min(max, base · 2^(n-1)), so retries of many messages that failed together
 * spread out instead of arriving in a herd, yet never come sooner than half the nominal delay.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const nominal = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/** A one-line description of an error for logs and dead letters (no stack, no payload). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = codeOf(err);
    return `${err.name}${code ? ` ${code}` : ""}: ${err.message}`;
  }
  return String(err);
}
