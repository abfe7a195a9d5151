/**
 * A burst of new provider connections while the gateway is busy: the kernel must hold them until
 * the gateway accepts (GATEWAY_LISTEN_BACKLOG), not drop their SYNs (each dropped SYN costs the
 * provider a 1 s retransmit, which the load bench saw as 1–3 s answers at half the gateway's rate).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { generateEd25519TestKey, generateStandardWebhooksSecret } from "@floodgate/provider-kit/testing";
import { deadLetterConfigFor } from "@floodgate/queue";
import { deleteStream, natsUrl, uniqueQueueConfig } from "@floodgate/queue/testing";
import { createLogger } from "@floodgate/service";
import { afterEach, describe, expect, it } from "vitest";
import { readGatewayEnv } from "./env.js";
import { startGateway, type Gateway } from "./gateway.js";
import { providers } from "./providers.js";

const secrets = { TELNYX_PUBLIC_KEY: generateEd25519TestKey().publicKey, RESEND_WEBHOOK_SECRET: generateStandardWebhooksSecret() };
const BURST = 1500;
const SOMAXCONN = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));

/**
 * Opens `n` connections at once from another process (whose event loop is free) once told "go",
 * and prints how long each took to connect, ms (-1: failed). A connection whose SYN the kernel
 * dropped (accept queue full) connects only after the client's retransmit, 1 s later.
 */
const BURSTER = `
const net = require("node:net");
const [port, n] = process.argv.slice(1).map(Number);
process.stdin.once("data", () => {
  const t0 = performance.now();
  const took = [];
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: "127.0.0.1" }, () => took.push(performance.now() - t0));
    s.on("error", () => took.push(-1));
    sockets.push(s);
  }
  setTimeout(() => { process.stdout.write(JSON.stringify(took)); for (const s of sockets) s.destroy(); process.exit(0); }, 3000);
});
`;

/** Connect times of a burst of `n` connections arriving while this process (the gateway's) is blocked for `blockMs`. */
async function burstWhileBlocked(port: number, n: number, blockMs: number): Promise<number[]> {
  const child = spawn(process.execPath, ["-e", BURSTER, String(port), String(n)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise((r) => setTimeout(r, 300)); // the child is up and waiting
  child.stdin.write("go\n");
  const until = performance.now() + blockMs;
  while (performance.now() < until) {
    // The gateway accepts nothing meanwhile: only the kernel's accept queue holds the burst.
  }
  await exited;
  return JSON.parse(out) as number[];
}

describe("gateway listen backlog", () => {
  const queue = uniqueQueueConfig();
  let gw: Gateway | undefined;

  const start = async (extra: Record<string, string>) => {
    const env = readGatewayEnv({ PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", NATS_URL: `nats://${natsUrl}`, ...extra });
    gw = await startGateway({ env, queue, providers, secrets, log: createLogger("gateway-backlog", "silent") });
    await gw.queue.ready;
    const address = gw.server.address();
    return typeof address === "object" && address ? address.port : 0;
  };
  afterEach(async () => {
    const conn = gw?.queue.connection;
    if (conn) {
      await deleteStream(conn.jsm, queue.stream);
      await deleteStream(conn.jsm, deadLetterConfigFor(queue).stream);
    }
    await gw?.close();
    gw = undefined;
  });

  it.skipIf(SOMAXCONN < BURST)(`holds a burst of ${BURST} connections arriving while the gateway is busy (default backlog)`, async () => {
    const took = await burstWhileBlocked(await start({}), BURST, 400);
    expect(took).toHaveLength(BURST);
    expect(took.filter((ms) => ms < 0)).toEqual([]);
    // Every handshake completed in the kernel's queue while the gateway was busy: none waited for
    // a SYN retransmit.
    expect(Math.max(...took)).toBeLessThan(900);
  }, 30_000);

  it("with a small backlog the same burst waits for SYN retransmits (what the default prevents)", async () => {
    const took = await burstWhileBlocked(await start({ GATEWAY_LISTEN_BACKLOG: "100" }), BURST, 400);
    expect(took.filter((ms) => ms >= 900).length).toBeGreaterThan(BURST / 2);
  }, 30_000);
});
