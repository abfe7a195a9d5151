import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkInvariant, guardClient } from "@floodgate/db";
import { createTestDatabase, type TestDatabase } from "@floodgate/db/testing";
import { connectQueue, countDeadLetters, deadLetterConfigFor, strandedConfigFor, type QueueConfig, type QueueConnection } from "@floodgate/queue";
import { deleteStream, natsUrl as sharedNatsUrl, uniqueQueueConfig } from "@floodgate/queue/testing";
import pg from "pg";
import { createWebhookSigner, generateSigningSecrets, type SigningSecrets, type WebhookSigner } from "../webhooks.js";
import { startPgBouncer, type TestPgBouncer } from "./pgbouncer.js";
import { freePort, httpOk, startProcess, waitFor, type ManagedProcess } from "./processes.js";

/** The repository root (this file is apps/loadtest/src/harness/system.ts, or its build). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const GATEWAY_MAIN = resolve(REPO_ROOT, "apps/gateway/dist/main.js");
const WORKER_MAIN = resolve(REPO_ROOT, "apps/worker/dist/main.js");
/** The worker's V8 flags, as in its `start` script (apps/worker/package.json). */
const WORKER_NODE_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=64"];

export interface SystemOptions {
  /** Workers to start (default 1). */
  workers?: number;
  /** NATS URL (default: the shared server); a fault test passes its own server's, a cluster test every node's, comma-separated. */
  natsUrl?: string;
  /** Replicas of the work, dead-letter and advisory streams (`WEBHOOK_STREAM_REPLICAS`; default 1). */
  replicas?: number;
  /** A database to use instead of a fresh `fg_test_*` one on the shared server. */
  database?: TestDatabase;
  /** Server on which to create the fresh `fg_test_*` database (default: the shared one). */
  databaseServerUrl?: string;
  gatewayEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Extra node flags for the gateway process (e.g. `--cpu-prof`). */
  gatewayNodeFlags?: string[];
  /** Extra node flags for every worker process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  workerNodeFlags?: string[];
  /** Signing secrets to configure (default: fresh ones), e.g. to reuse a pre-signed corpus. */
  secrets?: SigningSecrets;
  /**
   * Workers reach the database through a PgBouncer of this system's own, in transaction-pooling
   * mode, with the worker's settings unchanged but for `DATABASE_URL`; assertions still use the server directly.
   */
  pgbouncer?: boolean;
}

/** Gateway and workers running as real processes against a database and stream of their own. */
export interface System {
  readonly gatewayUrl: string;
  readonly metricsUrl: string;
  /** The NATS server the system uses. */
  readonly natsUrl: string;
  readonly queue: QueueConfig;
  readonly database: TestDatabase;
  /** A pool on the test database, for assertions. */
  readonly pool: pg.Pool;
  readonly secrets: SigningSecrets;
  readonly signer: WebhookSigner;
  readonly gateway: ManagedProcess;
  readonly workers: ManagedProcess[];
  /** Where the gateway listens, e.g. `127.0.0.1:41234`. */
  readonly gatewayHost: string;
  /** The PgBouncer the workers go through, when started with `pgbouncer: true`. */
  readonly pgbouncer: TestPgBouncer | undefined;
  /** Starts one more worker on the same consumer and waits until it is ready. */
  startWorker(extraEnv?: Record<string, string>): Promise<ManagedProcess>;
  /** The `/metrics` URL of worker `i`. */
  workerMetricsUrl(i: number): string;
  /** The ops/admin base URL of worker `i` (`/healthz`, `/readyz`, `/admin/…`). */
  workerUrl(i: number): string;
  /** A NATS connection of the test's own (for inspection and fault injection). */
  readonly queueConnection: QueueConnection;
  /** Messages in the dead-letter stream. */
  deadLetterCount(): Promise<number>;
  /** Asserts the counter invariant for every batch; throws listing the violations. */
  assertInvariant(): Promise<void>;
  /** Stops every process and removes the database and the stream. */
  stop(): Promise<void>;
}

/** Starts gateway and workers from their builds (run `pnpm build` first; turbo does it for tests). */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const queue = uniqueQueueConfig(options.replicas ? { replicas: options.replicas } : {});
  const natsUrl = options.natsUrl ?? sharedNatsUrl;
  const database = options.database ?? (await createTestDatabase(options.databaseServerUrl));
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  // A fault test stops the database under this pool: a lost connection is expected then.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => guardClient(client));
  const pgbouncer = options.pgbouncer ? await startPgBouncer({ serverPort: Number(new URL(database.url).port || 5432) }) : undefined;
  const workerDatabase = pgbouncer ? { DATABASE_URL: pgbouncer.through(database.url) } : { DATABASE_URL: database.url };
  const secrets = options.secrets ?? generateSigningSecrets();
  const queueConnection = await connectQueue({ servers: natsUrl, name: "floodgate-test-harness" });
  const [port, metricsPort] = [await freePort(), await freePort()];
  const base = {
    ...process.env,
    NATS_URL: natsUrl
      .split(",")
      .map((u) => (u.includes("://") ? u : `nats://${u}`))
      .join(","),
    WEBHOOK_STREAM_REPLICAS: String(queue.replicas),
    WEBHOOK_STREAM: queue.stream,
    WEBHOOK_SUBJECT_PREFIX: queue.subjectPrefix,
    WEBHOOK_CONSUMER: queue.consumer,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
  };
  const gatewayEnv = {
    ...base,
    HOST: "127.0.0.1",
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    TELNYX_PUBLIC_KEY: secrets.TELNYX_PUBLIC_KEY,
    RESEND_WEBHOOK_SECRET: secrets.RESEND_WEBHOOK_SECRET,
    ...options.gatewayEnv,
  };
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const gateway = startProcess("gateway", process.execPath, [...(options.gatewayNodeFlags ?? []), "--enable-source-maps", GATEWAY_MAIN], { env: gatewayEnv });
  await waitFor("gateway ready", () => httpOk(`${gatewayUrl}/readyz`), 30_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- gateway output ---\n${gateway.output()}`);
  });

  const workers: ManagedProcess[] = [];
  const workerPorts: number[] = [];
  const startWorker = async (extraEnv: Record<string, string> = {}) => {
    const workerPort = await freePort();
    const env = {
      ...base,
      ...workerDatabase,
      WORKER_PORT: String(workerPort),
      HOST: "127.0.0.1",
      WEBHOOK_FLUSH_INTERVAL: "100",
      PARKED_REMATCH_INTERVAL_MS: "200",
      WEBHOOK_ACK_WAIT_MS: "5000",
      ...options.workerEnv,
      ...extraEnv,
    };
    const worker = startProcess(`worker-${workers.length}`, process.execPath, [...WORKER_NODE_FLAGS, ...(options.workerNodeFlags ?? []), "--enable-source-maps", WORKER_MAIN], { env });
    workers.push(worker);
    workerPorts.push(workerPort);
    await waitFor("worker ready", () => httpOk(`http://127.0.0.1:${workerPort}/readyz`), 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- worker output ---\n${worker.output()}`);
    });
    return worker;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await startWorker();

  return {
    gatewayUrl,
    gatewayHost: `127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    natsUrl,
    queue,
    database,
    pool,
    secrets,
    signer: createWebhookSigner(secrets),
    gateway,
    workers,
    startWorker,
    workerMetricsUrl: (i) => `http://127.0.0.1:${workerPorts[i]}/metrics`,
    workerUrl: (i) => `http://127.0.0.1:${workerPorts[i]}`,
    queueConnection,
    pgbouncer,
    deadLetterCount: () => countDeadLetters(queueConnection.jsm, deadLetterConfigFor(queue)).catch(() => 0),
    async assertInvariant() {
      const violations = await checkInvariant(pool);
      if (violations.length > 0) throw new Error(`counter invariant violated: ${JSON.stringify(violations)}`);
    },
    async stop() {
      await Promise.all([gateway.stop(), ...workers.map((w) => w.stop())]);
      await pgbouncer?.dispose();
      await pool.end();
      await deleteStream(queueConnection.jsm, queue.stream);
      await deleteStream(queueConnection.jsm, deadLetterConfigFor(queue).stream);
      await deleteStream(queueConnection.jsm, strandedConfigFor(queue).advisoryStream);
      await queueConnection.close();
      if (!options.database) await database.drop();
    },
  };
}

/** Reads one metric's samples from a Prometheus text page: `{ labels → value }`. */
export async function scrape(url: string, metric: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(metric)) continue;
    const m = /^(\w+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m && m[1] === metric) out.set(m[2] ?? "", Number(m[3]));
  }
  return out;
}

/** Sums every sample of `metric` whose labels contain `filter` (e.g. `outcome="applied"`). */
export async function scrapeSum(url: string, metric: string, filter = ""): Promise<number> {
  let sum = 0;
  for (const [labels, value] of await scrape(url, metric)) if (labels.includes(filter)) sum += value;
  return sum;
}
