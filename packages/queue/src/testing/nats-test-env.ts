// Helpers for *.int.test.ts: unique stream/subject/consumer names on the shared server, and a
// throwaway nats-server for tests that must kill or freeze the server.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { JetStreamManager } from "@nats-io/jetstream";
import { defaultQueueConfig, type QueueConfig } from "../config.js";

/** The shared test server (NATS_URL or the local default). */
export const natsUrl = process.env.NATS_URL ?? "127.0.0.1:4222";

/** A config with names unique to this test run: `fg_test_<random>`. */
export function uniqueQueueConfig(overrides: Partial<QueueConfig> = {}): QueueConfig {
  const id = `fg_test_${randomBytes(5).toString("hex")}`;
  return { ...defaultQueueConfig, stream: id, subjectPrefix: id, consumer: `${id}_c`, maxBytes: 64 * 1024 ** 2, ...overrides };
}

/** Deletes a test stream (and with it its consumers); ignores a missing one. */
export async function deleteStream(jsm: JetStreamManager, stream: string): Promise<void> {
  await jsm.streams.delete(stream).catch(() => false);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * Returns once every thread of `pid` is stopped. kill() only queues SIGSTOP: a thread on a CPU
 * runs on until its next interrupt, long enough on a busy machine to answer a request sent
 * right after (seen: a PubAck 5 ms after the signal). Linux only; elsewhere returns at once.
 */
export function waitStopped(pid: number, timeoutMs = 2000): void {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return;
  const state = (tid: string) => {
    try {
      // "<tid> (<comm>) <state> …": the state follows the last ")".
      const stat = readFileSync(`${tasks}/${tid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    } catch {
      return "T"; // the thread is gone
    }
  };
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (readdirSync(tasks).every((tid) => "Tt".includes(state(tid)))) return;
  }
  throw new Error(`nats-server ${pid} did not stop within ${timeoutMs} ms of SIGSTOP`);
}

/** A private JetStream-enabled nats-server on a random port. */
export interface TestNatsServer {
  url: string;
  port: number;
  /** The monitoring endpoint (`http://127.0.0.1:<port>`), when started with `monitor`. */
  monitorUrl?: string;
  /** The current server process (replaced by restart). */
  readonly process: ChildProcess;
  /** SIGSTOP, returning once every thread is stopped: the server hangs, its sockets stay open. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGKILL, keeping the store dir. */
  kill(): Promise<void>;
  /** SIGKILL and start again on the same port and store dir. */
  restart(): Promise<void>;
  /** SIGKILL and remove the store dir. */
  stop(): Promise<void>;
}

/** Options of {@link startNatsServer}. */
export interface TestNatsServerOptions {
  /** Server config file text (e.g. a `jetstream { sync_interval: always }` block); flags win. */
  config?: string;
  /** Also serve the monitoring endpoint (/varz, /jsz) on a free port. */
  monitor?: boolean;
}

/** The nats-server binary tests start: NATS_SERVER_BIN (set per vitest project) or the one on PATH. */
export const natsServerBin = process.env.NATS_SERVER_BIN || "nats-server";

export async function startNatsServer(options: TestNatsServerOptions = {}): Promise<TestNatsServer> {
  const port = await freePort();
  const monitorPort = options.monitor ? await freePort() : undefined;
  const dir = await mkdtemp(join(tmpdir(), "fg-nats-"));
  const bin = natsServerBin;
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir];
  if (monitorPort !== undefined) args.push("-m", String(monitorPort));
  if (options.config !== undefined) {
    await writeFile(join(dir, "nats.conf"), options.config);
    args.push("-c", join(dir, "nats.conf"));
  }
  let child: ChildProcess;
  let exited: Promise<void>;
  const spawnServer = async (): Promise<void> => {
    child = spawn(bin, args, { stdio: "ignore" });
    exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await waitForPort(port, 10_000);
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await exited;
    }
  };
  await spawnServer();
  return {
    url: `127.0.0.1:${port}`,
    port,
    ...(monitorPort === undefined ? {} : { monitorUrl: `http://127.0.0.1:${monitorPort}` }),
    get process() {
      return child;
    },
    pause() {
      child.kill("SIGSTOP");
      waitStopped(child.pid!);
    },
    resume() {
      child.kill("SIGCONT");
    },
    kill,
    async restart() {
      await kill();
      await spawnServer();
    },
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
