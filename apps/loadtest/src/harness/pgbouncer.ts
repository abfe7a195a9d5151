import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, portOpen, startProcess, waitFor, type ManagedProcess } from "./processes.js";

const run = promisify(execFile);

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** Port of the PostgreSQL server behind it, on 127.0.0.1 (default 5432, the shared server). */
  serverPort?: number;
  /** Server connections per database/user pair (default 4: fewer than a worker's pool, so transactions really share them). */
  poolSize?: number;
  /** More `[pgbouncer]` settings, e.g. `{ query_wait_timeout: "5" }`. */
  settings?: Record<string, string>;
}

/** A PgBouncer of a test's own, in transaction-pooling mode, in front of one PostgreSQL server. */
export interface TestPgBouncer {
  readonly port: number;
  readonly process: ManagedProcess;
  /** Errors PgBouncer sent its clients itself (its "pooler error" log lines), by message. */
  readonly poolerErrors: ReadonlyMap<string, number>;
  /** A connection URL for database `db` through PgBouncer (user postgres, trust). */
  url(db?: string): string;
  /** Rewrites a URL of the server behind it (same user and database) to go through PgBouncer. */
  through(serverUrl: string): string;
  /** Stops it and deletes its folder. */
  dispose(): Promise<void>;
}

/**
 * The settings a worker needs from PgBouncer (README.md, "Scaling past one machine"): transaction
 * pooling, and an outage of PostgreSQL reported within seconds instead of queued for minutes.
 */
export const PGBOUNCER_SETTINGS: Readonly<Record<string, string>> = {
  pool_mode: "transaction",
  // A client whose transaction waits this long for a server connection gets an error (08P01): the
  // worker's breaker then holds the work, instead of queries hanging for 120 s (the default).
  query_wait_timeout: "10",
  server_connect_timeout: "5",
  // After a failed login PgBouncer waits this long before trying the server again (default 15 s).
  server_login_retry: "1",
  max_client_conn: "500",
};

async function pgbouncerBinary(): Promise<string> {
  for (const candidate of [process.env.PGBOUNCER_BIN, "/usr/sbin/pgbouncer"]) {
    if (!candidate) continue;
    try {
      await run(candidate, ["--version"]);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error("pgbouncer not found: install Debian's package (apt-get install pgbouncer, or run scripts/bootstrap.sh) or set PGBOUNCER_BIN");
}

/**
 * Starts PgBouncer in the foreground on a free port, with its config and auth file in a folder of
 * its own. As root it switches to the `postgres` user (PgBouncer refuses to run as root).
 */
export async function startPgBouncer(options: PgBouncerOptions = {}): Promise<TestPgBouncer> {
  const bin = await pgbouncerBinary();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "fg-pgbouncer-"));
  const settings: Record<string, string> = {
    listen_addr: "127.0.0.1",
    listen_port: String(port),
    unix_socket_dir: "",
    auth_type: "trust",
    auth_file: join(dir, "userlist.txt"),
    default_pool_size: String(options.poolSize ?? 4),
    ...PGBOUNCER_SETTINGS,
    ...(process.getuid?.() === 0 ? { user: "postgres" } : {}),
    ...options.settings,
  };
  const ini = [
    "[databases]",
    `* = host=127.0.0.1 port=${options.serverPort ?? 5432}`,
    "[pgbouncer]",
    ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
    "",
  ].join("\n");
  await writeFile(join(dir, "pgbouncer.ini"), ini);
  await writeFile(join(dir, "userlist.txt"), '"postgres" ""\n');
  // Read again by the postgres user it switches to, on a reload.
  await chmod(dir, 0o755);
  const poolerErrors = new Map<string, number>();
  const proc = startProcess("pgbouncer", bin, [join(dir, "pgbouncer.ini")], {
    onLine(line) {
      const m = /pooler error: (.*)$/.exec(line);
      if (m) poolerErrors.set(m[1]!, (poolerErrors.get(m[1]!) ?? 0) + 1);
    },
  });
  const dispose = async () => {
    await proc.stop("SIGTERM", 5000); // immediate shutdown (SIGINT would wait for clients)
    await rm(dir, { recursive: true, force: true });
  };
  await waitFor("pgbouncer listening", () => portOpen(port), 10_000).catch(async (err: unknown) => {
    await dispose();
    throw new Error(`${String(err)}\n--- pgbouncer output ---\n${proc.output()}`);
  });
  const url = (db = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${db}`;
  return {
    port,
    process: proc,
    poolerErrors,
    url,
    through(serverUrl) {
      const u = new URL(serverUrl);
      u.host = `127.0.0.1:${port}`;
      return u.toString();
    },
    dispose,
  };
}
