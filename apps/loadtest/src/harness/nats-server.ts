import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startProcess, waitFor, type ManagedProcess } from "./processes.js";
import { connect as netConnect } from "node:net";

/** A nats-server of a test's own: own port, own store folder; stop/kill/restart it at will. */
export interface TestNatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Starts it (again), keeping the store. */
  start(): Promise<void>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** Stops it and deletes its store. */
  dispose(): Promise<void>;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts a nats-server with JetStream on a free loopback port (binary from PATH or /usr/sbin). */
export async function startTestNatsServer(binary = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server"): Promise<TestNatsServer> {
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), "fg-nats-"));
  let proc: ManagedProcess | undefined;
  const server: TestNatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async start() {
      proc = startProcess("nats-server", binary, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir]);
      await waitFor(`nats-server on port ${port}`, () => portOpen(port), 15_000, 50).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${proc?.output() ?? ""}`);
      });
    },
    async stop() {
      await proc?.stop("SIGTERM");
      proc = undefined;
    },
    async kill9() {
      await proc?.kill9();
      proc = undefined;
    },
    async dispose() {
      await proc?.kill9();
      proc = undefined;
      await rm(storeDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
