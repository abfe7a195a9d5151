import pg from "pg";
import { classifyDatabaseError } from "./sql-errors.js";

/** Default connection string on a developer machine. */
export const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/floodgate";

/** Options of {@link createDb}. */
export interface CreateDbOptions {
  /** PostgreSQL connection string. */
  databaseUrl: string;
  /** Pool size; one connection per concurrent flush is enough (default 10). */
  max?: number;
  /** Shown in `pg_stat_activity.application_name` (default `floodgate`). */
  applicationName?: string;
  /** Gives up opening a connection after this long, ms (default 10 000): a hung server must not hang the caller forever. */
  connectionTimeoutMs?: number;
  /** Called when a connection fails outside a query (default: one line on stderr). */
  onConnectionError?: (err: Error) => void;
  /**
   * Prepare the hot-path statements once per connection under a name: saves their parsing and
   * planning on every batch. Behind a transaction-pooling proxy (PgBouncer `pool_mode =
   * transaction` before 1.21) the next transaction may run on a server connection that never saw
   * the statement. `"auto"` (default) prepares them until the server answers that a named
   * statement is missing (26000) or already exists (42P05), the mark of such a proxy, and from
   * then on sends unnamed ones on every connection of the pool (calling `onPreparedStatementsOff`
   * once); the transaction that met it fails as "unavailable" and is retried. `true` always
   * prepares, `false` never does.
   */
  preparedStatements?: boolean | "auto";
  /** Called once when `"auto"` turns named prepared statements off, with the error that showed why. */
  onPreparedStatementsOff?: (err: Error) => void;
}

/** A handle on the database: the `pg` pool used by the hot path, and `close()`. */
export interface Db {
  readonly pool: pg.Pool;
  /** Ends the pool; waits for checked-out clients to be released. */
  close(): Promise<void>;
}

/** Anything the functions of this package accept as a database: a {@link Db} or a bare pool. */
export type DbLike = Db | pg.Pool;

/**
 * Creates the connection pool for the batch-apply statements. Every connection it opens gets an
 * `'error'` listener for its whole life: pg emits `'error'` on a client whose connection dies
 * between two queries (terminated backend, server stopped, network cut), and without a listener
 * that event would crash the process. The next query on such a client fails instead, which the
 * caller classifies (see {@link classifyDatabaseError}) and {@link inTransaction} discards it.
 */
export function createDb(options: CreateDbOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "floodgate",
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    keepAlive: true,
  });
  let closed: Promise<void> | undefined;
  // After close(), sockets still shutting down may report the server's goodbye: not worth a line.
  const report = (err: Error) => {
    if (closed) return;
    if (options.onConnectionError) options.onConnectionError(err);
    else console.error("@floodgate/db: connection error", err.message);
  };
  const mode = options.preparedStatements ?? "auto";
  statementModes.set(pool, { prepare: mode !== false, adaptive: mode === "auto", onOff: options.onPreparedStatementsOff });
  pool.on("connect", (client) => {
    guardClient(client, report);
    clientPools.set(client, pool);
  });
  // An idle client losing its connection: the pool replaces it.
  pool.on("error", report);
  return {
    pool,
    close: () => (closed ??= pool.end()),
  };
}

/** Whether a pool's connections prepare named statements, and whether "auto" may turn that off. */
interface StatementMode {
  prepare: boolean;
  adaptive: boolean;
  onOff?: (err: Error) => void;
}
const statementModes = new WeakMap<pg.Pool, StatementMode>();
const clientPools = new WeakMap<pg.ClientBase, pg.Pool>();

/**
 * @internal A query of the hot path: prepared once per connection under `name`, unless its pool
 * does not prepare (then parsed on every call, as an unnamed statement that lives only as long as
 * the query, which a pooling proxy can carry).
 */
export function statement(client: pg.ClientBase, name: string, text: string, values: unknown[]): pg.QueryConfig {
  const pool = clientPools.get(client);
  const prepare = pool ? (statementModes.get(pool)?.prepare ?? true) : true;
  return prepare ? { name, text, values } : { text, values };
}

/** SQLSTATEs a transaction-pooling proxy causes with named statements: missing (26000), duplicate (42P05). */
const NAMED_STATEMENT_LOST = new Set(["26000", "42P05"]);

/** In "auto" mode, turns the pool's named statements off when `err` shows they do not survive here. */
function adaptStatements(pool: pg.Pool, err: unknown): void {
  const mode = statementModes.get(pool);
  const code = (err as { code?: unknown } | null)?.code;
  if (!mode?.adaptive || !mode.prepare || typeof code !== "string" || !NAMED_STATEMENT_LOST.has(code)) return;
  mode.prepare = false;
  mode.onOff?.(err instanceof Error ? err : new Error(String(err)));
}

/** @internal */
export function poolOf(db: DbLike): pg.Pool {
  return "connect" in db ? db : db.pool;
}

/**
 * Gives a dedicated client (or a pool's) an `'error'` listener, so a connection that dies between
 * queries is reported instead of crashing the process with an unhandled `'error'` event.
 */
export function guardClient<C extends pg.ClientBase>(client: C, onError: (err: Error) => void = () => undefined): C {
  client.on("error", onError);
  return client;
}

/**
 * @internal Runs `fn` in a transaction on one client; rolls back on error. The connection goes back
 * to the pool only after a data error or a conflict: after any other failure (a lost connection, a
 * read-only or restarted server, revoked permissions) it is discarded, so the next transaction
 * starts on a fresh session with the server's current settings.
 */
export async function inTransaction<T>(db: DbLike, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await poolOf(db).connect();
  let discard: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    // Destroying the connection aborts its transaction on the server; no ROLLBACK needed (or
    // possible, on a dead connection).
    adaptStatements(poolOf(db), err);
    if (classifyDatabaseError(err) === "unavailable") discard = err instanceof Error ? err : new Error(String(err));
    else await client.query("ROLLBACK").catch((rollbackErr: Error) => (discard = rollbackErr));
    throw err;
  } finally {
    client.release(discard);
  }
}
