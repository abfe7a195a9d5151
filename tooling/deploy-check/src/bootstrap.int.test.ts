/**
 * scripts/bootstrap.sh on a bare machine. The install branch runs for real in a sandbox: PATH
 * holds every command of this machine except PostgreSQL's, nats-server and Go; apt-get is a stub
 * that records what it is asked and "installs" by making the machine's own binaries visible (and,
 * for `postgresql`, creates the cluster as the package's postinst does, under a configuration root
 * and data folder of the sandbox); the services start on ports of their own. The script must then
 * install both packages, set trust auth, start PostgreSQL and nats-server with JetStream, and on a
 * second run do nothing. The Go step runs against a stub `go` and a tools folder of the sandbox.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectQueue } from "@floodgate/queue";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, portOpen } from "../../../apps/loadtest/src/harness/processes.js";
import { REPO_ROOT } from "./repo.js";

const SCRIPT = join(REPO_ROOT, "scripts/bootstrap.sh");
const HIDDEN = /^(nats-server|nats|pg_.*|psql|postgres|initdb|pgbouncer|go|gofmt|apt-get|apt)$/;
const canInstall =
  process.getuid?.() === 0 && existsSync("/usr/bin/pg_createcluster") && existsSync("/usr/sbin/nats-server") && existsSync("/usr/sbin/pgbouncer") && existsSync("/usr/lib/postgresql");
if (!canInstall) console.warn("!! bootstrap install branch NOT tested: needs root, Debian's postgresql-common, nats-server and pgbouncer on this machine");

interface Sandbox {
  dir: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  cluster: string;
  cleanup(): void;
}

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const s of sandboxes.splice(0)) s.cleanup();
});

/** A PATH of this machine's commands without PostgreSQL, NATS and Go, and an apt-get stub before it. */
async function makeSandbox(extraEnv: Record<string, string> = {}): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), "fg-boot-"));
  // pg_createcluster runs initdb as the postgres user, which must reach the data folder.
  chmodSync(dir, 0o755);
  const bin = join(dir, "bin");
  const stub = join(dir, "stub");
  mkdirSync(bin);
  mkdirSync(stub);
  for (const d of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (HIDDEN.test(name) || existsSync(join(bin, name))) continue;
      symlinkSync(join(d, name), join(bin, name));
    }
  }
  writeFileSync(
    join(stub, "apt-get"),
    `#!/bin/bash
# Records the call; "installs" by exposing the machine's own binaries, as the package would.
echo "apt-get $*" >> "$SANDBOX/apt.log"
[ "$1" = install ] || exit 0
for p in "$@"; do case $p in
  postgresql)
    for b in pg_ctlcluster pg_createcluster pg_lsclusters pg_dropcluster pg_conftool psql; do ln -sf /usr/bin/$b "$SANDBOX/bin/$b"; done
    # The package's postinst creates a cluster with Debian's auth, and starts it where it can
    # (here on a free port of the test's, STUB_START_PORT, not the one bootstrap is asked for).
    if [ -z "\${STUB_NO_CLUSTER:-}" ]; then
      "$SANDBOX/bin/pg_createcluster" -l "$SANDBOX/pg.log" -d "$SANDBOX/pgdata" \${STUB_START_PORT:+-p "$STUB_START_PORT" --start} \
        "$(ls /usr/lib/postgresql | sort -V | tail -n1)" "$FLOODGATE_PG_CLUSTER" >/dev/null
    fi ;;
  nats-server) ln -sf /usr/sbin/nats-server "$SANDBOX/bin/nats-server" ;;
  pgbouncer) ln -sf /usr/sbin/pgbouncer "$SANDBOX/bin/pgbouncer" ;;
esac; done
`,
  );
  chmodSync(join(stub, "apt-get"), 0o755);
  const cluster = `fgboot${Math.random().toString(36).slice(2, 8)}`;
  const [pgPort, natsPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    PATH: `${stub}:${bin}`,
    HOME: dir,
    SANDBOX: dir,
    PG_CLUSTER_CONF_ROOT: join(dir, "etc"),
    FLOODGATE_PG_PORT: String(pgPort),
    FLOODGATE_PG_CLUSTER: cluster,
    FLOODGATE_PG_DATA: join(dir, "pgdata"),
    FLOODGATE_PG_LOG: join(dir, "pg.log"),
    FLOODGATE_NATS_PORT: String(natsPort),
    FLOODGATE_NATS_STORE: join(dir, "nats"),
    FLOODGATE_NATS_LOG: join(dir, "nats.log"),
    FLOODGATE_TOOLS_DIR: join(dir, "tools"),
    FLOODGATE_PGBOUNCER: join(dir, "no-pgbouncer-here"),
    ...extraEnv,
  };
  const sandbox: Sandbox = {
    dir,
    bin,
    env,
    cluster,
    cleanup() {
      const conf = join(dir, "etc");
      if (existsSync(conf)) {
        for (const version of readdirSync(conf)) {
          spawnSync("pg_ctlcluster", [version, cluster, "stop", "-m", "immediate"], { env: { ...process.env, PG_CLUSTER_CONF_ROOT: conf }, stdio: "ignore" });
        }
      }
      const pidFile = join(dir, "nats", "nats-server.pid");
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  sandboxes.push(sandbox);
  return sandbox;
}

function runBootstrap(sandbox: Sandbox, steps: string[], env: NodeJS.ProcessEnv = {}) {
  const started = Date.now();
  const result = spawnSync("/bin/bash", [SCRIPT, ...steps], { env: { ...sandbox.env, ...env }, encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
}

function aptCalls(sandbox: Sandbox): string[] {
  const log = join(sandbox.dir, "apt.log");
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
}

async function assertPostgresTrusts(port: number): Promise<void> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  await client.connect();
  try {
    expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  } finally {
    await client.end();
  }
}

async function assertJetStream(port: number): Promise<void> {
  const q = await connectQueue({ servers: `127.0.0.1:${port}`, name: "bootstrap-test" });
  try {
    const info = await q.jsm.getAccountInfo();
    expect(info.limits).toBeDefined();
  } finally {
    await q.close();
  }
}

describe.skipIf(!canInstall)("bootstrap.sh on a machine without PostgreSQL and nats-server", () => {
  it("installs both (and pgbouncer, for the pooling tests) from Debian's packages, starts them (trust auth, JetStream), and does nothing the second time", async () => {
    const startedByPackage = await freePort();
    const sandbox = await makeSandbox({ STUB_START_PORT: String(startedByPackage) });
    const first = runBootstrap(sandbox, ["services"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(aptCalls(sandbox)).toEqual([
      "apt-get update -qq",
      "apt-get install -y -qq --no-install-recommends postgresql",
      "apt-get install -y -qq --no-install-recommends nats-server",
      "apt-get install -y -qq --no-install-recommends pgbouncer",
    ]);
    expect(first.stdout).toContain(`starting PostgreSQL`);
    expect(first.stdout).toContain(`starting nats-server with JetStream on 127.0.0.1:${sandbox.env.FLOODGATE_NATS_PORT}`);
    const port = Number(sandbox.env.FLOODGATE_PG_PORT);
    await assertPostgresTrusts(port);
    // The cluster the package had started was restarted on the port asked for.
    expect(await portOpen(startedByPackage)).toBe(false);
    await assertJetStream(Number(sandbox.env.FLOODGATE_NATS_PORT));
    const version = readdirSync(join(sandbox.dir, "etc"))[0] as string;
    const hba = readFileSync(join(sandbox.dir, "etc", version, sandbox.cluster, "pg_hba.conf"), "utf8");
    expect(hba.split("\n").slice(0, 4).join("\n")).toMatch(/^# floodgate bootstrap.*\nlocal\s+all all\s+trust\nhost\s+all all 127\.0\.0\.1\/32 trust\nhost\s+all all ::1\/128\s+trust$/);

    const second = runBootstrap(sandbox, ["services"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout + second.stderr).toBe("");
    expect(aptCalls(sandbox)).toHaveLength(4);
    expect(second.ms).toBeLessThan(3000);
  }, 120_000);

  it("creates a cluster when the package did not", async () => {
    const sandbox = await makeSandbox({ STUB_NO_CLUSTER: "1" });
    const run = runBootstrap(sandbox, ["services"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`cluster ${sandbox.cluster}`);
    expect(existsSync(join(sandbox.dir, "pgdata", "PG_VERSION"))).toBe(true);
    expect(existsSync(join(sandbox.dir, "pg.log"))).toBe(true);
    await assertPostgresTrusts(Number(sandbox.env.FLOODGATE_PG_PORT));
  }, 120_000);
});

describe("bootstrap.sh's Go step (nats-server v2.15.2 and the nats CLI in the tools folder)", () => {
  const script = readFileSync(SCRIPT, "utf8");
  const serverVersion = /^NATS_SERVER_VERSION=(v\S+)$/m.exec(script)?.[1] as string;
  const cliVersion = /^NATSCLI_VERSION=(v\S+)$/m.exec(script)?.[1] as string;

  /** A `go` that records `GOBIN=… go install <pkg>@<v>` and writes a binary printing that version. */
  function stubGo(sandbox: Sandbox): string {
    const go = join(sandbox.dir, "stub", "go");
    writeFileSync(
      go,
      `#!/bin/bash
[ "$1" = version ] && { echo "go version go1.26.0 linux/amd64"; exit 0; }
echo "GOBIN=$GOBIN go $*" >> "$SANDBOX/go.log"
mkdir -p "$GOBIN"
case "$2" in
  github.com/nats-io/nats-server/v2@*) printf '#!/bin/sh\\necho "nats-server: %s"\\n' "\${2#*@}" > "$GOBIN/nats-server"; chmod +x "$GOBIN/nats-server" ;;
  github.com/nats-io/natscli/nats@*) printf '#!/bin/sh\\necho "%s"\\n' "\${2#*@}" > "$GOBIN/nats"; chmod +x "$GOBIN/nats" ;;
esac
`,
    );
    chmodSync(go, 0o755);
    return go;
  }
  const goCalls = (sandbox: Sandbox) => (existsSync(join(sandbox.dir, "go.log")) ? readFileSync(join(sandbox.dir, "go.log"), "utf8").trim().split("\n") : []);

  it("builds both into <tools>/bin with go install, then reuses them while their versions match", async () => {
    const sandbox = await makeSandbox();
    const go = stubGo(sandbox);
    const bin = join(sandbox.dir, "tools", "bin");
    const first = runBootstrap(sandbox, ["tools"], { FLOODGATE_GO: go });
    expect(first.code, first.stderr).toBe(0);
    expect(goCalls(sandbox)).toEqual([
      `GOBIN=${bin} go install github.com/nats-io/nats-server/v2@${serverVersion}`,
      `GOBIN=${bin} go install github.com/nats-io/natscli/nats@${cliVersion}`,
    ]);
    expect(execFileSync(join(bin, "nats-server"), ["--version"], { encoding: "utf8" }).trim()).toBe(`nats-server: ${serverVersion}`);

    const again = runBootstrap(sandbox, ["tools"], { FLOODGATE_GO: go });
    expect(again.stdout).toContain(`nats-server ${serverVersion} and nats ${cliVersion} in`);
    expect(goCalls(sandbox)).toHaveLength(2);

    // Another version in the folder (an older checkout's) is replaced; the CLI is kept.
    writeFileSync(join(bin, "nats-server"), '#!/bin/sh\necho "nats-server: v2.14.0"\n');
    const upgrade = runBootstrap(sandbox, ["tools"], { FLOODGATE_GO: go });
    expect(upgrade.code).toBe(0);
    expect(goCalls(sandbox).slice(2)).toEqual([`GOBIN=${bin} go install github.com/nats-io/nats-server/v2@${serverVersion}`]);
  }, 60_000);

  it("replaces a tools symlink that leads nowhere (a worktree's link committed by accident) with a folder, loudly, and builds into it", async () => {
    const sandbox = await makeSandbox();
    const go = stubGo(sandbox);
    const tools = join(sandbox.dir, "tools");
    symlinkSync(tools, tools); // -> itself, as main's .tools once was
    const run = runBootstrap(sandbox, ["tools"], { FLOODGATE_GO: go });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/!! .*tools is a symlink to nowhere .*: replaced by a folder/);
    expect(execFileSync(join(tools, "bin", "nats-server"), ["--version"], { encoding: "utf8" }).trim()).toBe(`nats-server: ${serverVersion}`);
  }, 60_000);

  it("says loudly, without failing, that only Debian's nats-server will be tested when Go is missing", async () => {
    const sandbox = await makeSandbox();
    const run = runBootstrap(sandbox, ["tools"], { FLOODGATE_GO: join(sandbox.dir, "no-go-here") });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/!! Go not found/);
    expect(run.stderr).toMatch(/ONLY nats-server .* WILL BE TESTED/);
    expect(existsSync(join(sandbox.dir, "tools", "bin", "nats-server"))).toBe(false);
  }, 60_000);
});

describe("bootstrap.sh on this machine, where everything is there", () => {
  it("starts nothing, installs nothing, and is quick", () => {
    const started = Date.now();
    const result = spawnSync("/bin/bash", [SCRIPT, "pnpm", "services"], { env: process.env, encoding: "utf8", timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toBe("");
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
