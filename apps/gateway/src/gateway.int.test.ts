/**
 * The gateway in-process against the shared NATS: hostile requests cannot grow its metrics (or
 * make it read bodies) on either HTTP adapter.
 */
import { METHODS } from "node:http";
import { connect } from "node:net";
import { generateEd25519TestKey, generateStandardWebhooksSecret } from "@floodgate/provider-kit/testing";
import { deadLetterConfigFor } from "@floodgate/queue";
import { deleteStream, natsUrl, uniqueQueueConfig } from "@floodgate/queue/testing";
import { createLogger } from "@floodgate/service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGatewayEnv } from "./env.js";
import { startGateway, type Gateway } from "./gateway.js";
import { providers } from "./providers.js";

const secrets = { TELNYX_PUBLIC_KEY: generateEd25519TestKey().publicKey, RESEND_WEBHOOK_SECRET: generateStandardWebhooksSecret() };

function portOf(gw: Gateway, server: "server" | "metricsServer"): number {
  const address = gw[server]!.address();
  return typeof address === "object" && address ? address.port : 0;
}

/**
 * One request on a raw socket: headers announcing a 10 GB body, then only a few bytes of it.
 * Resolves with the status and the response head once the gateway answers (0 if it closes
 * without answering, as node does for CONNECT), or rejects if it waits for the body.
 */
function hostile(port: number, method: string, path: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`${method} ${path} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 10000000000\r\n\r\n{"data":`);
    });
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${method} ${path}: no answer without the body`));
    }, 10_000);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), head: answer.split("\r\n\r\n")[0]! });
    };
    socket.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
      if (answer.includes("\r\n\r\n")) done();
    });
    socket.on("error", () => undefined);
    socket.on("close", done);
  });
}

/** 1–24 random characters, URL-escaped: letters, digits, dots, percent-escaped bytes. */
const randomName = () => Array.from({ length: 1 + Math.floor(Math.random() * 24) }, () => encodeURIComponent(String.fromCharCode(33 + Math.floor(Math.random() * 200)))).join("");
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

describe.each(["node", "express"] as const)("gateway (%s adapter) under hostile requests", (http) => {
  const queue = uniqueQueueConfig();
  let gw: Gateway;
  let port: number;
  let metricsUrl: string;

  beforeAll(async () => {
    const env = readGatewayEnv({ PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", NATS_URL: `nats://${natsUrl}`, GATEWAY_HTTP: http, WEBHOOK_MAX_BODY_BYTES: "65536" });
    gw = await startGateway({ env, queue, providers, secrets, log: createLogger("gateway-int", "silent") });
    await gw.queue.ready;
    port = portOf(gw, "server");
    metricsUrl = `http://127.0.0.1:${portOf(gw, "metricsServer")}/metrics`;
  });
  afterAll(async () => {
    const conn = gw?.queue.connection;
    if (conn) {
      await deleteStream(conn.jsm, queue.stream);
      await deleteStream(conn.jsm, deadLetterConfigFor(queue).stream);
    }
    await gw?.close();
  });

  const series = async () => (await (await fetch(metricsUrl)).text()).split("\n").filter((l) => l.startsWith("webhook_")).length;

  it("1,000 requests with random provider names, random methods and huge Content-Length leave the series count unchanged", async () => {
    // Every kind of early answer once: unknown provider (404), wrong method (405), declared too large (413).
    expect((await hostile(port, "POST", "/webhooks/acme")).status).toBe(404);
    for (const id of ["telnyx", "resend"]) {
      expect((await hostile(port, "GET", `/webhooks/${id}`)).status).toBe(405);
      expect((await hostile(port, "POST", `/webhooks/${id}`)).status).toBe(413);
    }
    const before = await series();

    const methods = METHODS.filter((m) => m !== "CONNECT");
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 50; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const n = batch * 20 + i;
          const name = n % 4 === 0 ? pick(["telnyx", "resend"]) : randomName();
          // Some paths outside /webhooks/<one segment>: answered 404, not metered, body unread too.
          const path = n % 10 === 1 ? `/webhooks/${name}/${randomName()}` : n % 10 === 3 ? `/${randomName()}` : `/webhooks/${name}`;
          return hostile(port, pick(methods), path);
        }),
      );
      for (const a of answers) {
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        if (a.status >= 400 && a.head.length > 0) expect(a.head.toLowerCase()).toContain("connection: close");
      }
    }
    expect([...statuses.keys()].every((s) => [404, 405, 413, 0].includes(s))).toBe(true);
    expect(statuses.get(404)).toBeGreaterThan(500);
    expect(await series()).toBe(before);
    expect(await (await fetch(metricsUrl)).text()).not.toMatch(/provider="(?!telnyx|resend|unknown)/);
  }, 120_000);
});

describe("gateway close", () => {
  it("is not held by connections that never finish a request: they are cut once the publish deadline has passed", async () => {
    const queue = uniqueQueueConfig();
    const env = readGatewayEnv({ PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", NATS_URL: `nats://${natsUrl}`, PUBLISH_TIMEOUT_MS: "200" });
    const gw = await startGateway({ env, queue, providers, secrets, log: createLogger("gateway-close", "silent") });
    await gw.queue.ready;
    const conn = gw.queue.connection!;
    const accepted = new Promise<void>((resolve) => {
      let n = 0;
      gw.server.on("connection", () => ++n === 2 && resolve());
    });
    // One connection says nothing; the other sends half a request's headers (a slow client).
    const silent = connect(portOf(gw, "server"), "127.0.0.1");
    const slow = connect(portOf(gw, "server"), "127.0.0.1", () => slow.write("POST /webhooks/resend HTTP/1.1\r\nhost: gw\r\n"));
    const cut = [silent, slow].map((s) => {
      s.on("error", () => undefined);
      return new Promise<void>((resolve) => s.once("close", () => resolve()));
    });
    await accepted;
    await deleteStream(conn.jsm, queue.stream);
    await deleteStream(conn.jsm, deadLetterConfigFor(queue).stream);
    const t0 = performance.now();
    await gw.close();
    expect(performance.now() - t0).toBeLessThan(200 + 1000 + 2000);
    await Promise.all(cut);
  });
});
