import { execFile } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, portOpen } from "./processes.js";

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of a test's own (own port and data folder, started with pg_ctl), so a
 * fault test can stop and start it without touching the shared server.
 */
export interface TestPgCluster {
  readonly port: number;
  readonly dataDir: string;
  /** A connection URL for database `db` on this cluster. */
  url(db?: string): string;
  start(): Promise<void>;
  /** `pg_ctl stop -m fast` (or `immediate`, which is a crash without a checkpoint). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** Stops it and deletes its data folder. */
  dispose(): Promise<void>;
}

const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** PostgreSQL refuses to run as root; run its tools as the `postgres` user when we are root. */
async function asPostgres(cmd: string, args: string[]): Promise<void> {
  if (process.getuid?.() === 0) await run("runuser", ["-u", "postgres", "--", cmd, ...args]);
  else await run(cmd, args);
}

export async function startTestPgCluster(): Promise<TestPgCluster> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), "fg-pg-"));
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dataDir, Number(stdout.trim()), Number(gid.trim()));
  }
  await asPostgres(`${PG_BIN}/initdb`, ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const cluster: TestPgCluster = {
    port,
    dataDir,
    url: (db = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    async start() {
      await asPostgres(`${PG_BIN}/pg_ctl`, [
        "-D", dataDir, "-w", "-t", "30", "-l", join(dataDir, "server.log"),
        "-o", `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`,
        "start",
      ]);
      if (!(await portOpen(port))) throw new Error(`test PostgreSQL did not open port ${port}`);
    },
    async stop(mode = "fast") {
      await asPostgres(`${PG_BIN}/pg_ctl`, ["-D", dataDir, "-w", "-t", "30", "-m", mode, "stop"]).catch(() => undefined);
    },
    async dispose() {
      await cluster.stop("immediate");
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
