/**
 * How the worker tells failures apart: the database being unavailable (hold the work and wait:
 * it is not the events' fault), a transaction conflict (retry at once), or a problem with the
 * data itself (isolate the culprit, retry it with backoff, then dead-letter it). The SQLSTATE
 * table lives in @floodgate/db (`classifyDatabaseError`).
 */

import { classifyDatabaseError } from "@floodgate/db";

/**
 * True when `err` says the database cannot take this write now: unreachable, restarting,
 * read-only, out of resources, permissions or schema not as expected (the `unavailable` rows of
 * the table in @floodgate/db's sql-errors.ts). These open the circuit breaker; the batch is held
 * and retried, and never counts toward dead-lettering.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return classifyDatabaseError(err) === "unavailable";
}

/** True for serialization failures and deadlocks: the same transaction may well succeed at once. */
export function isTransactionConflict(err: unknown): boolean {
  return classifyDatabaseError(err) === "conflict";
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
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
