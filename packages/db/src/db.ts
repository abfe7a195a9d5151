import pg from "pg";

/** Default connection string on a developer machine. */
export const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/floodgate";

/** Options of {@link createDb}. */
export interface CreateDbOptions {
  /** PostgreSQL connection string. */
  databaseUrl: string;
  /** Pool size; one connection per concurrent flush is enough (default 10). */
  max?: number;
}

/** A handle on the database: the `pg` pool used by the hot path, and `close()`. */
export interface Db {
  readonly pool: pg.Pool;
  /** Ends the pool; waits for checked-out clients to be released. */
  close(): Promise<void>;
}

/** Anything the functions of this package accept as a database: a {@link Db} or a bare pool. */
export type DbLike = Db | pg.Pool;

/** Creates the connection pool for the batch-apply statements. */
export function createDb(options: CreateDbOptions): Db {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.max ?? 10 });
  let closed: Promise<void> | undefined;
  // An idle client losing its connection must not crash the process; the pool replaces it. After
  // close(), sockets still shutting down may report the server's goodbye: not worth a log line.
  pool.on("error", (err) => {
    if (!closed) console.error("@floodgate/db: idle client error", err);
  });
  return {
    pool,
    close: () => (closed ??= pool.end()),
  };
}

/** @internal */
export function poolOf(db: DbLike): pg.Pool {
  return "connect" in db ? db : db.pool;
}

/** @internal Runs `fn` in a transaction on one client; rolls back on error. */
export async function inTransaction<T>(db: DbLike, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await poolOf(db).connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    // A connection that cannot even roll back is discarded instead of returned to the pool.
    await client.query("ROLLBACK").catch((rollbackErr: Error) => (broken = rollbackErr));
    throw err;
  } finally {
    client.release(broken);
  }
}
