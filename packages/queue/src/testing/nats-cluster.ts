// A three-node (or n-node) nats-server cluster of a test's own, on loopback: for tests that kill,
// freeze, wipe and restart nodes the way failover and upgrades do.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JetStreamManager } from "@nats-io/jetstream";
import { freePort, waitForPort, waitStopped } from "./nats-test-env.js";

/** One node of a {@link TestNatsCluster}. */
export interface NatsClusterNode {
  /** Its `server_name`, as JetStream reports leaders and replicas. */
  readonly name: string;
  /** Client URL, `127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  /** Monitoring port (`/healthz`, `/jsz`). */
  readonly httpPort: number;
  readonly storeDir: string;
  /** The current process (replaced by `start`); undefined before the first start. */
  readonly process: ChildProcess | undefined;
  /** Started and not exited (a paused node is still running). */
  readonly running: boolean;
  /** Stopped with SIGSTOP and not resumed yet. */
  readonly paused: boolean;
}

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Nodes (default 3). */
  size?: number;
  /** The binary to spawn (default `NATS_SERVER_BIN`, else `nats-server` on PATH). */
  bin?: string;
}

/** A cluster of nats-servers with JetStream, each with its own ports and store folder. */
export interface TestNatsCluster {
  readonly name: string;
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's client URL, `nats://`-prefixed and comma-separated: a value for `NATS_URL`. */
  readonly natsUrl: string;
  /** The node called `name`; throws for an unknown one. */
  node(name: string): NatsClusterNode;
  /** SIGKILL, as in a crash; the store folder stays. */
  kill(name: string): Promise<void>;
  /** SIGTERM, a graceful shutdown as an upgrade or a rescheduled pod does; the store folder stays. */
  stop(name: string): Promise<void>;
  /** Starts a stopped node again on its ports and store folder, and waits until it listens. */
  start(name: string): Promise<void>;
  /** Deletes a stopped node's store folder: it comes back empty and must catch up from the others. */
  wipe(name: string): Promise<void>;
  /** SIGSTOP: the node holds its sockets open and answers nothing, as a hung machine does. */
  pause(name: string): void;
  /** SIGCONT after {@link pause}. */
  resume(name: string): void;
  /**
   * Waits until every running node answers `/healthz` 200: JetStream up, a meta leader, and its
   * streams and consumers caught up (nats-server's own health check).
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The server name of `stream`'s leader, from JetStream's stream info; "" while it has none. */
  streamLeader(jsm: JetStreamManager, stream: string): Promise<string>;
  /** The server name of a consumer's leader (it can differ from its stream's); "" while it has none. */
  consumerLeader(jsm: JetStreamManager, stream: string, consumer: string): Promise<string>;
  /**
   * Each node's state for an error message: running or how it exited, what `/healthz` answered
   * last, and the last lines of its log.
   */
  describe(): Promise<string>;
  /** Kills every node and deletes their folders. */
  dispose(): Promise<void>;
}

interface NodeState {
  name: string;
  url: string;
  port: number;
  routePort: number;
  httpPort: number;
  storeDir: string;
  configFile: string;
  logFile: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  paused: boolean;
  /** What `/healthz` answered last (status and body, or the error). */
  lastHealth?: string;
}

function nodeConfig(node: NodeState, clusterName: string, routePorts: number[]): string {
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.port}`,
    `http: 127.0.0.1:${node.httpPort}`,
    `log_file: "${node.logFile}"`,
    `jetstream { store_dir: "${node.storeDir}" }`,
    "cluster {",
    `  name: ${clusterName}`,
    `  listen: 127.0.0.1:${node.routePort}`,
    `  routes: [${routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(", ")}]`,
    "}",
    "",
  ].join("\n");
}

function isRunning(node: NodeState): boolean {
  return node.child !== undefined && node.child.exitCode === null && node.child.signalCode === null;
}

/** Whether `/healthz` answers 200; what it said last, for the error when it never does. */
async function healthy(node: NodeState): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`, { signal: AbortSignal.timeout(2000) });
    node.lastHealth = `${res.status} ${(await res.text()).trim().slice(0, 300)}`;
    return res.ok;
  } catch (err) {
    node.lastHealth = String(err);
    return false;
  }
}

/**
 * Starts `size` nats-servers (default 3) routed to each other as one cluster with JetStream, and
 * waits until each answers `/healthz`. Nodes are named `n1`, `n2`, …; each has its own client,
 * route and monitoring port and store folder under one temporary folder.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<TestNatsCluster> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const bin = options.bin ?? process.env.NATS_SERVER_BIN ?? "nats-server";
  const clusterName = `fg_test_${randomBytes(4).toString("hex")}`;
  const root = await mkdtemp(join(tmpdir(), "fg-nats-cluster-"));
  const nodes: NodeState[] = [];
  for (let i = 1; i <= size; i++) {
    const [port, routePort, httpPort] = [await freePort(), await freePort(), await freePort()];
    const name = `n${i}`;
    const storeDir = join(root, name, "store");
    nodes.push({ name, url: `127.0.0.1:${port}`, port, routePort, httpPort, storeDir, configFile: join(root, name, "nats.conf"), logFile: join(root, name, "nats.log"), child: undefined, exited: Promise.resolve(), paused: false });
  }
  const routePorts = nodes.map((n) => n.routePort);
  for (const node of nodes) {
    await mkdir(node.storeDir, { recursive: true });
    await writeFile(node.configFile, nodeConfig(node, clusterName, routePorts));
  }
  const killAll = () => nodes.forEach((n) => n.child?.kill("SIGKILL"));
  process.once("exit", killAll);

  const find = (name: string): NodeState => {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node "${name}" in cluster ${clusterName} (nodes: ${nodes.map((n) => n.name).join(", ")})`);
    return node;
  };
  const signalAndWait = async (node: NodeState, signal: NodeJS.Signals): Promise<void> => {
    if (!isRunning(node)) return;
    if (node.paused) node.child!.kill("SIGCONT");
    node.paused = false;
    node.child!.kill(signal);
    await node.exited;
  };
  const start = async (node: NodeState): Promise<void> => {
    if (isRunning(node)) throw new Error(`node ${node.name} is already running`);
    const child = spawn(bin, ["-c", node.configFile], { stdio: "ignore" });
    node.child = child;
    node.exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await waitForPort(node.port, 15_000);
  };
  const waitHealthy = async (timeoutMs = 30_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const running = nodes.filter((n) => isRunning(n) && !n.paused);
      const states = await Promise.all(running.map(healthy));
      if (states.every(Boolean)) return;
      if (Date.now() > until) {
        const sick = running.filter((_, i) => !states[i]).map((n) => `${n.name} (/healthz: ${n.lastHealth ?? "no answer"})`);
        throw new Error(`nats cluster ${clusterName}: ${sick.join(", ")} not healthy within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    await Promise.all(nodes.map(start));
    await waitHealthy();
  } catch (err) {
    killAll();
    await rm(root, { recursive: true, force: true });
    throw err;
  }

  const view = (node: NodeState): NatsClusterNode => ({
    name: node.name,
    url: node.url,
    port: node.port,
    routePort: node.routePort,
    httpPort: node.httpPort,
    storeDir: node.storeDir,
    get process() {
      return node.child;
    },
    get running() {
      return isRunning(node);
    },
    get paused() {
      return node.paused;
    },
  });

  return {
    name: clusterName,
    nodes: nodes.map(view),
    natsUrl: nodes.map((n) => `nats://${n.url}`).join(","),
    node: (name) => view(find(name)),
    kill: (name) => signalAndWait(find(name), "SIGKILL"),
    stop: (name) => signalAndWait(find(name), "SIGTERM"),
    start: (name) => start(find(name)),
    async wipe(name) {
      const node = find(name);
      if (isRunning(node)) throw new Error(`stop node ${name} before wiping its store`);
      await rm(node.storeDir, { recursive: true, force: true });
      await mkdir(node.storeDir, { recursive: true });
    },
    pause(name) {
      const node = find(name);
      if (!isRunning(node)) throw new Error(`node ${name} is not running`);
      node.child!.kill("SIGSTOP");
      waitStopped(node.child!.pid!);
      node.paused = true;
    },
    resume(name) {
      const node = find(name);
      if (!node.paused) return;
      node.child!.kill("SIGCONT");
      node.paused = false;
    },
    waitHealthy,
    async describe() {
      const lines = await Promise.all(
        nodes.map(async (n) => {
          const state = isRunning(n) ? (n.paused ? "paused" : "running") : `exited (${n.child?.exitCode ?? n.child?.signalCode ?? "never started"})`;
          const log = await readFile(n.logFile, "utf8").catch(() => "");
          const tail = log.trimEnd().split("\n").slice(-8).join("\n    ");
          return `${n.name}: ${state}; /healthz: ${n.lastHealth ?? "not asked"}\n    ${tail}`;
        }),
      );
      return lines.join("\n");
    },
    async streamLeader(jsm, stream) {
      return (await jsm.streams.info(stream)).cluster?.leader ?? "";
    },
    async consumerLeader(jsm, stream, consumer) {
      return (await jsm.consumers.info(stream, consumer)).cluster?.leader ?? "";
    },
    async dispose() {
      await Promise.all(nodes.map((n) => signalAndWait(n, "SIGKILL")));
      process.off("exit", killAll);
      await rm(root, { recursive: true, force: true });
    },
  };
}
