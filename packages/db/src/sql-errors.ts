/**
 * What a failed database call means for the events it carried, decided by SQLSTATE (and, for
 * errors raised before the server answered, by the client's error code or message).
 *
 * | class | SQLSTATEs | meaning | what the worker does |
 * |---|---|---|---|
 * | `conflict` | 40001 serialization_failure, 40P01 deadlock_detected | the same transaction may succeed at once | retry at once, no attempt counted |
 * | `data` | class 22 (data exception), class 23 (integrity constraint), 54000 (program limit, e.g. an index row too large), class P0 (raised by a trigger: RAISE EXCEPTION, ASSERT — a check of the row written) | this event's own data cannot be stored | isolate the culprit by splitting, retry it with backoff, then dead-letter it |
 * | `unavailable` | class 08 (connection), 28 (authentication, e.g. 28P01 after a password rotation), 3D (database missing), 53 (resources, e.g. too many connections, disk full), 57 (operator intervention: 57014 statement timeout, 57P01 terminated, 57P03 starting up), 58 (system/I/O), 25006 (read-only transaction: a failover to a replica), 42501 (permission), 42P01 (missing table) | the database cannot take this write now | hold the work, open the circuit breaker, count nothing, discard the connection |
 * | `unavailable` | 08P01 from PgBouncer standing in for a server that is away (`server login has been failing`, `query_wait_timeout`, `client_login_timeout (server down)`, `server conn crashed?`, …) | the server behind the pooler is unreachable | as above |
 * | `unavailable` | any other SQLSTATE (schema not as expected, internal errors; 26000/42P05, named prepared statements through a transaction pooler) | not the event's fault | as above: nothing is dead-lettered for a condition an operator must fix |
 * | `unavailable` | no SQLSTATE, a socket error (ECONNREFUSED, ECONNRESET, ETIMEDOUT, …) or a lost connection | the server is unreachable | as above |
 * | `data` | no SQLSTATE, any other error | a fault in preparing this batch | as for data errors |
 */
export type DatabaseFailure = "conflict" | "data" | "unavailable";

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ECONNABORTED"]);

// Raised by the pg client, not the server: the connection died or was never made.
const LOST_CONNECTION =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|the database system is (starting up|shutting down)|terminating connection|Query read timeout/i;

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of a server error, the Node error code of a socket error, or undefined. */
function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Classifies one SQLSTATE (five characters). */
export function classifySqlState(state: string): DatabaseFailure {
  if (state === "40001" || state === "40P01") return "conflict";
  const cls = state.slice(0, 2);
  if (cls === "22" || cls === "23" || cls === "P0" || state === "54000") return "data";
  return "unavailable";
}

/**
 * Classifies a failed database call (see the table above). Follows `cause` chains, so an error
 * wrapped by a pool or by our own code is classified by what the server or the socket said.
 */
export function classifyDatabaseError(err: unknown): DatabaseFailure {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = codeOf(e);
    if (code !== undefined) {
      if (CONNECTION_CODES.has(code)) return "unavailable";
      if (SQLSTATE.test(code)) return classifySqlState(code);
    }
    if (e instanceof Error && LOST_CONNECTION.test(e.message)) return "unavailable";
  }
  return "data";
}
