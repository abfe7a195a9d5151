import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, createQueueConnector, type QueueConnection } from "./connect.js";
import { QueueConfigError } from "./errors.js";
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

  it("keeps no async stack trace per request (an Error per JetStream publish on the hot path)", () => {
    expect((q.nc as unknown as { options: { noAsyncTraces?: boolean } }).options.noAsyncTraces).toBe(true);
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

describe("createQueueConnector", () => {
  it("returns at once while NATS is down, logs that it waits (naming the servers) at a steady interval, and sets up when NATS arrives", async () => {
    const server = await startNatsServer();
    await server.kill();
    const lines: Line[] = [];
    const cfg = uniqueQueueConfig();
    let setups = 0;
    const connector = createQueueConnector({
      servers: server.url,
      name: "floodgate-queue-int-connector",
      log: recordingLogger(lines),
      waitLogIntervalMs: 200,
      retryMs: 100,
      setup: async (q) => {
        setups++;
        await ensureStream(q.jsm, cfg);
      },
    });
    try {
      expect(connector.state).toBe("connecting");
      expect(connector.isConnected()).toBe(false);
      expect(connector.connection).toBeUndefined();
      await new Promise((r) => setTimeout(r, 1_000));
      const waiting = lines.filter((l) => l.obj.nats === "waiting");
      expect(waiting.length).toBeGreaterThanOrEqual(2);
      expect(waiting.every((l) => l.level === "warn" && l.msg === `waiting for NATS at ${server.url}`)).toBe(true);
      expect(waiting[0]!.obj.servers).toEqual([server.url]);
      expect(connector.waitingFor).toContain(`waiting for NATS at ${server.url}`);
      expect(setups).toBe(0);

      await server.restart();
      const q = await connector.ready;
      expect(connector.state).toBe("ready");
      expect(connector.isConnected()).toBe(true);
      expect(connector.waitingFor).toBeUndefined();
      expect(setups).toBe(1);
      expect((await q.jsm.streams.info(cfg.stream)).config.name).toBe(cfg.stream);
      const count = lines.filter((l) => l.obj.nats === "waiting").length;
      await new Promise((r) => setTimeout(r, 500));
      expect(lines.filter((l) => l.obj.nats === "waiting").length).toBe(count); // connected: quiet
    } finally {
      await connector.close();
      await server.stop();
    }
    expect(connector.state).toBe("closed");
  });

  it("retries a failing setup, and treats a config the server refuses as fatal", async () => {
    const server = await startNatsServer();
    try {
      let calls = 0;
      const flaky = createQueueConnector({
        servers: server.url,
        name: "floodgate-queue-int-connector-flaky",
        retryMs: 50,
        setup: async () => {
          if (++calls < 3) throw new Error("stream info timed out");
        },
      });
      await flaky.ready;
      expect(calls).toBe(3);
      await flaky.close();

      const fatal = createQueueConnector({
        servers: server.url,
        name: "floodgate-queue-int-connector-fatal",
        retryMs: 50,
        setup: async () => {
          throw new QueueConfigError("retention cannot be changed");
        },
      });
      await expect(fatal.ready).rejects.toBeInstanceOf(QueueConfigError);
      expect(fatal.state).toBe("failed");
      expect(fatal.waitingFor).toMatch(/failed.*retention cannot be changed/);
    } finally {
      await server.stop();
    }
  });

  it("close() while waiting stops trying and rejects ready", async () => {
    const server = await startNatsServer();
    await server.kill();
    const connector = createQueueConnector({ servers: server.url, name: "floodgate-queue-int-connector-closed", retryMs: 50 });
    await new Promise((r) => setTimeout(r, 200));
    await connector.close();
    await expect(connector.ready).rejects.toThrow(/closed before NATS was reached/);
    await server.restart();
    await new Promise((r) => setTimeout(r, 300));
    expect(connector.connection).toBeUndefined();
    expect(connector.state).toBe("closed");
    await server.stop();
  });
});
