import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, type QueueConnection } from "./connect.js";
import type { QueueLogger } from "./logger.js";
import { createPublisher } from "./publisher.js";
import { ensureStream } from "./stream.js";
import { startNatsServer, uniqueQueueConfig, type TestNatsServer } from "./testing/nats-test-env.js";

interface Line {
  level: "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function recordingLogger(lines: Line[]): QueueLogger {
  return {
    info: (obj, msg) => lines.push({ level: "info", obj, msg }),
    warn: (obj, msg) => lines.push({ level: "warn", obj, msg }),
    error: (obj, msg) => lines.push({ level: "error", obj, msg }),
  };
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("connectQueue", () => {
  let server: TestNatsServer;
  let q: QueueConnection;
  const lines: Line[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    q = await connectQueue({
      servers: server.url,
      name: "floodgate-queue-int-connect",
      log: recordingLogger(lines),
      connectionOptions: { reconnectTimeWait: 100, reconnectJitter: 0 },
    });
  });

  afterAll(async () => {
    await q.close();
    await server.stop();
  });

  it("reconnects after the server restarts, logging the status changes, and publishing resumes", async () => {
    const cfg = uniqueQueueConfig();
    await ensureStream(q.jsm, cfg);
    const pub = createPublisher(q);
    expect(q.isConnected()).toBe(true);
    expect(lines.some((l) => l.level === "info" && l.obj.nats === "connect")).toBe(true);

    await server.kill();
    await waitFor(() => !q.isConnected());
    // Longer than the default 10 attempts × 100 ms: only maxReconnectAttempts -1 survives this.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(q.nc.isClosed()).toBe(false);
    await server.restart();
    await waitFor(() => q.isConnected());

    expect(lines.find((l) => l.obj.nats === "disconnect")?.level).toBe("warn");
    expect(lines.find((l) => l.obj.nats === "reconnect")?.level).toBe("info");
    // The stream survived (same store dir), so the next publish is stored.
    const ack = await pub.publish(`${cfg.subjectPrefix}.p.t`, new Uint8Array(1), "after-restart");
    expect(ack.duplicate).toBe(false);
  });

  it("close() ends the connection and isConnected() turns false", async () => {
    await q.drain();
    expect(q.isConnected()).toBe(false);
    await expect(q.closed()).resolves.toBeUndefined();
  });
});
