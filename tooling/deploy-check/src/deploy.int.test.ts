/**
 * Each app deploys on its own: `pnpm deploy:app <app> <dir>` (scripts/deploy-app.mjs, the step
 * the Dockerfiles run) builds a folder per app outside the repository, and the folders alone
 * do the work: the migrate runner migrates a fresh database, the gateway and the worker start
 * with plain node from their folders (an environment holding only PATH and their variables, no
 * NODE_PATH; as nobody from root-owned files when the test runs as root, like the images' USER),
 * the images' HEALTHCHECK commands pass, a signed webhook goes in and the recipient's row
 * changes; the worker folder's floodgate-dlq answers too. The commands of the Dockerfiles, compose and Kubernetes files are
 * checked against the files each folder really has.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connectQueue, deadLetterConfigFor, strandedConfigFor, type QueueConnection } from "@floodgate/queue";
import { deleteStream, natsUrl, uniqueQueueConfig } from "@floodgate/queue/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, httpOk, startProcess, waitFor, type ManagedProcess } from "../../../apps/loadtest/src/harness/processes.js";
import { createWebhookSigner, generateSigningSecrets, telnyxBody } from "../../../apps/loadtest/src/webhooks.js";
import { deployApp, type AppName, type DeploySummary } from "../../../scripts/deploy-app.mjs";
import { appNames, commandArgs, readCompose, readDockerfile, readKubernetes, DOCKERFILES, IMAGE_NAMES, type Yaml } from "./deploy-files.js";
import { REPO_ROOT } from "./repo.js";

const DATABASE_SERVER = process.env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/floodgate";
const root = mkdtempSync(join(tmpdir(), "fg-deploy-"));
const deployed = {} as Record<AppName, DeploySummary>;
const processes: ManagedProcess[] = [];

/** What a deployed process gets: PATH (for nothing but node's own child processes) and its variables. */
function cleanEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: root, ...vars };
}

/** `node <start flags> <entry>` as the deployed package.json's start script says. */
function startArgs(app: AppName, entry: string): string[] {
  return [...deployed[app].nodeFlags, entry];
}

// As root (CI), the apps run as nobody from root-owned folders, as the images run them (USER
// node, files owned by root): nothing may need to write there.
const unprivileged = process.getuid?.() === 0 && existsSync("/usr/bin/setpriv");

/** Starts a deployed app's node process from its folder (as nobody when the test runs as root). */
function startDeployed(name: string, app: AppName, args: string[], env: Record<string, string>): ManagedProcess {
  const options = { cwd: deployed[app].dir, env: cleanEnv(env) };
  if (!unprivileged) return startProcess(name, process.execPath, args, options);
  return startProcess(name, "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ...args], options);
}

/** Runs an image's HEALTHCHECK command (`node -e …`) with the container's environment. */
async function runHealthcheck(app: AppName, env: Record<string, string>): Promise<number | string> {
  const health = readDockerfile(app).at(-1)?.instructions.filter((i) => i.keyword === "HEALTHCHECK").at(-1)?.args ?? "";
  const [command, ...args] = commandArgs(health.slice(health.indexOf("CMD") + 3));
  expect(command).toBe("node");
  return startDeployed(`${app}-healthcheck`, app, args, env).exited;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

beforeAll(() => {
  chmodSync(root, 0o755);
  // turbo built the apps and their packages before this test (dependsOn ^build).
  for (const app of appNames) deployed[app] = deployApp(app, join(root, app), { skipBuild: true, quiet: true });
  for (const s of Object.values(deployed)) {
    console.log(`deploy-app ${s.app}: ${(s.bytes / 2 ** 20).toFixed(1)} MiB in ${s.dir}; entries ${s.entries.join(", ")}; left out ${s.dropped.length} packages`);
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  rmSync(root, { recursive: true, force: true });
});

describe("deploy folders", () => {
  it("are self-contained: no link leaves the folder, no TypeScript source, nothing the apps never load", () => {
    for (const app of appNames) {
      const dir = realpathSync(deployed[app].dir);
      const files = filesUnder(dir);
      const escaping = files.filter((f) => lstatSync(f).isSymbolicLink() && !(existsSync(f) && realpathSync(f).startsWith(`${dir}/`)));
      expect(escaping, app).toEqual([]);
      const sources = files.filter((f) => /\.(ts|tsx|mts)$/.test(f) && !/\.d\.[mc]?ts$/.test(f) && f.includes("/@floodgate/"));
      expect(sources, app).toEqual([]);
      const modules = readdirSync(join(dir, "node_modules", ".pnpm"));
      for (const unwanted of ["vitest@", "vite@", "typescript@", "prisma@", "@prisma+client@", "tsx@", "esbuild@"]) {
        expect(modules.filter((m) => m.startsWith(unwanted)), `${app}: ${unwanted}`).toEqual([]);
      }
      for (const entry of deployed[app].entries) expect(existsSync(join(dir, entry)), `${app}: ${entry}`).toBe(true);
      expect(deployed[app].bytes, app).toBeLessThan(64 * 2 ** 20);
    }
    expect(existsSync(join(deployed.migrate.dir, "prisma/migrations/migration_lock.toml"))).toBe(true);
    // The Ed25519 fast path travels with the apps that verify or replay Telnyx webhooks.
    expect(readdirSync(join(deployed.gateway.dir, "node_modules/.pnpm")).some((m) => m.startsWith("sodium-native@"))).toBe(true);
  });

  it("are what the Dockerfiles, compose and Kubernetes start: every command names a file the folder has", () => {
    const commands: [AppName, string[], string][] = [];
    for (const app of appNames) {
      const cmd = readDockerfile(app).at(-1)?.instructions.filter((i) => i.keyword === "CMD").at(-1);
      if (cmd) commands.push([app, commandArgs(cmd.args), DOCKERFILES[app]]);
    }
    const services = readCompose().services as Record<string, Yaml>;
    for (const [name, svc] of Object.entries(services)) {
      const app = appNames.find((a) => (svc.build as Yaml | undefined)?.dockerfile === DOCKERFILES[a]);
      if (app && svc.command) commands.push([app, svc.command as string[], `compose ${name}`]);
    }
    for (const o of readKubernetes().objects) {
      const spec = ((o.spec as Yaml | undefined)?.template as Yaml | undefined)?.spec as Yaml | undefined;
      for (const c of (spec?.containers ?? []) as Yaml[]) {
        const app = appNames.find((a) => c.image === IMAGE_NAMES[a]);
        if (app && c.command) commands.push([app, c.command as string[], `${o.file} ${o.metadata.name}`]);
      }
    }
    expect(commands.length).toBeGreaterThanOrEqual(3 + 2);
    for (const [app, argv, where] of commands) {
      const entry = argv.at(-1) as string;
      expect(existsSync(join(deployed[app].dir, entry)), `${where}: ${entry} in the ${app} folder`).toBe(true);
      expect(deployed[app].entries, where).toContain(entry);
    }
  });
});

describe("deployed apps", () => {
  const queue = uniqueQueueConfig();
  const databaseName = `fg_test_deploy_${randomBytes(5).toString("hex")}`;
  const databaseUrl = (() => {
    const u = new URL(DATABASE_SERVER);
    u.pathname = `/${databaseName}`;
    return u.toString();
  })();
  let connection: QueueConnection | undefined;
  let pool: pg.Pool | undefined;

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await pool?.end();
    connection = await connectQueue({ servers: natsUrl, name: "floodgate-deploy-test" }).catch(() => undefined);
    if (connection) {
      for (const stream of [queue.stream, deadLetterConfigFor(queue).stream, strandedConfigFor(queue).advisoryStream]) await deleteStream(connection.jsm, stream);
      await connection.close();
    }
    const admin = new URL(DATABASE_SERVER);
    admin.pathname = "/postgres";
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName)} WITH (FORCE)`);
    await client.end();
  });

  it("migrate a fresh database, take a signed webhook and change the row", async () => {
    const queueEnv = {
      NATS_URL: natsUrl.includes("://") ? natsUrl : `nats://${natsUrl}`,
      WEBHOOK_STREAM: queue.stream,
      WEBHOOK_SUBJECT_PREFIX: queue.subjectPrefix,
      WEBHOOK_CONSUMER: queue.consumer,
      WEBHOOK_STREAM_MAX_BYTES: String(queue.maxBytes),
      LOG_LEVEL: "warn",
    };

    const migrate = startDeployed("migrate", "migrate", startArgs("migrate", "dist/bin/migrate.js"), { DATABASE_URL: databaseUrl });
    expect(await migrate.exited, migrate.output()).toBe(0);
    const migrations = readdirSync(join(deployed.migrate.dir, "prisma/migrations"), { withFileTypes: true }).filter((d) => d.isDirectory()).length;
    expect(migrations).toBeGreaterThan(0);
    expect(migrate.output()).toContain(`${migrations} migration(s) applied, 0 already applied`);

    const secrets = generateSigningSecrets();
    const [port, metricsPort, workerPort] = [await freePort(), await freePort(), await freePort()];
    const gatewayEnv = { ...queueEnv, HOST: "127.0.0.1", PORT: String(port), METRICS_PORT: String(metricsPort), TELNYX_PUBLIC_KEY: secrets.TELNYX_PUBLIC_KEY, RESEND_WEBHOOK_SECRET: secrets.RESEND_WEBHOOK_SECRET };
    const gateway = startDeployed("gateway", "gateway", startArgs("gateway", "dist/main.js"), gatewayEnv);
    processes.push(gateway);
    const workerEnv = { ...queueEnv, HOST: "127.0.0.1", WORKER_PORT: String(workerPort), DATABASE_URL: databaseUrl, WEBHOOK_FLUSH_INTERVAL: "100" };
    const worker = startDeployed("worker", "worker", startArgs("worker", "dist/main.js"), workerEnv);
    processes.push(worker);
    await waitFor("gateway ready", () => httpOk(`http://127.0.0.1:${port}/readyz`), 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${gateway.output()}`);
    });
    await waitFor("worker ready", () => httpOk(`http://127.0.0.1:${workerPort}/readyz`), 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${worker.output()}`);
    });

    // The images' HEALTHCHECK commands pass against the running apps.
    expect(await runHealthcheck("gateway", gatewayEnv)).toBe(0);
    expect(await runHealthcheck("worker", workerEnv)).toBe(0);

    pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const batch = `b-${randomUUID()}`;
    const messageId = randomUUID();
    await pool.query("INSERT INTO batches (id) VALUES ($1)", [batch]);
    await pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) VALUES ($1, $2, 'telnyx', $3)", [`r-${messageId}`, batch, messageId]);

    const body = telnyxBody({ messageId, to: [{ phone: "+15550000001", status: "delivered" }] });
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/telnyx`, { method: "POST", headers: createWebhookSigner(secrets).telnyx(body), body });
    expect(res.status, await res.text()).toBe(202);

    await waitFor("the recipient delivered", async () => (await pool!.query("SELECT status FROM recipients WHERE provider_message_id = $1", [messageId])).rows[0]?.status === "delivered", 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- worker ---\n${worker.output()}\n--- gateway ---\n${gateway.output()}`);
    });
    const counts = await pool.query("SELECT delivered_count, total_count FROM batches WHERE id = $1", [batch]);
    expect(counts.rows[0]).toEqual({ delivered_count: 1, total_count: 1 });

    // The worker folder's dead-letter CLI (floodgate-dlq) runs from it too.
    const dlq = startDeployed("floodgate-dlq", "worker", ["dist/dlq-cli.js", "list", "--json"], queueEnv);
    expect(await dlq.exited, dlq.output()).toBe(0);
    expect(JSON.parse(dlq.output())).toEqual([]);

    // The processes ran from the deploy folders, with nothing of the repository on their command line.
    expect(readFileSync(`/proc/${gateway.child.pid}/cmdline`, "utf8")).not.toContain(REPO_ROOT);
    expect(realpathSync(`/proc/${worker.child.pid}/cwd`)).toBe(realpathSync(deployed.worker.dir));
    if (unprivileged) expect(readFileSync(`/proc/${worker.child.pid}/status`, "utf8")).toMatch(/^Uid:\s+65534\b/m);
  }, 120_000);
});
