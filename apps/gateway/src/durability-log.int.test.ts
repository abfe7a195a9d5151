/**
 * The gateway says at start what a 2xx means on the server it reached: version, replicas and the
 * sync setting read from the monitoring endpoint. Runs against each nats-server of the suite
 * (NATS_SERVER_BIN): on 2.10+ a server told `sync_interval: always`, on 2.9 one that cannot be.
 */
import { Writable } from "node:stream";
import { generateStandardWebhooksSecret } from "@floodgate/provider-kit/testing";
import { deadLetterConfigFor, serverProfile } from "@floodgate/queue";
import { deleteStream, natsServerBin, startNatsServer, uniqueQueueConfig, type TestNatsServer } from "@floodgate/queue/testing";
import { pino } from "pino";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGatewayEnv } from "./env.js";
import { startGateway } from "./gateway.js";
import { providers } from "./providers.js";

const version = /v?(\d+\.\d+\.\d+)/.exec(execFileSync(natsServerBin, ["--version"], { encoding: "utf8" }))![1]!;
const canSync = serverProfile(version).configurableSync;

/** Starts a gateway against `server` and returns its log lines once it accepts webhooks. */
async function startupLog(server: TestNatsServer, extraEnv: Record<string, string>): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const env = readGatewayEnv({ PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", NATS_URL: `nats://${server.url}`, ...extraEnv });
  const queue = uniqueQueueConfig();
  const gw = await startGateway({ env, queue, providers, secrets: { RESEND_WEBHOOK_SECRET: generateStandardWebhooksSecret() }, log: pino({ level: "info" }, sink) });
  try {
    const conn = await gw.queue.ready;
    await deleteStream(conn.jsm, queue.stream);
    await deleteStream(conn.jsm, deadLetterConfigFor(queue).stream);
  } finally {
    await gw.close();
  }
  return lines;
}

describe(`the gateway's durability line at start (nats-server ${version})`, () => {
  let server: TestNatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ monitor: true, ...(canSync ? { config: "jetstream { sync_interval: always }\n" } : {}) });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("names the version and the replicas, and reads the sync setting from NATS_MONITOR_URL", async () => {
    const lines = await startupLog(server, { NATS_MONITOR_URL: server.monitorUrl! });
    const line = lines.find((l) => l.nats === "durability");
    expect(line).toMatchObject({ version, replicas: 1 });
    if (canSync) {
      expect(line).toMatchObject({ sync: "always", atRisk: false, level: 30, msg: "a 2xx means the webhook is on disk on 1 node (fsync before the ack)" });
    } else {
      // 2.9 cannot be told to sync each write: a single node is at risk, and the gateway warns.
      expect(line).toMatchObject({ sync: "fixed", atRisk: true, level: 40 });
      expect(line?.msg).toMatch(/page cache of 1 node.*sync_interval: always \(nats-server 2\.10\+/);
    }
  });

  it("says the sync setting is not reported when no monitoring URL is given (2.10+)", async () => {
    const line = (await startupLog(server, {})).find((l) => l.nats === "durability");
    expect(line).toMatchObject({ version, replicas: 1, sync: canSync ? "unknown" : "fixed" });
    if (canSync) expect(line?.msg).toContain("set NATS_MONITOR_URL");
  });

  it("refuses a monitoring URL that is not http(s)", () => {
    expect(() => readGatewayEnv({ NATS_MONITOR_URL: "nats://127.0.0.1:8222" })).toThrow(/NATS_MONITOR_URL: expected a URL starting with http/);
  });
});
