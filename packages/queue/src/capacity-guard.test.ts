import type { JetStreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { createCapacityGuard } from "./capacity-guard.js";
import { createPublisher } from "./publisher.js";
import { QueueFullError } from "./errors.js";
import type { QueueConnection } from "./connect.js";
import { serverProfile } from "./server-version.js";

function fakeJsm(state: { bytes: number; messages: number }, config = { max_bytes: 10_000, max_msgs: 100 }, fail = false) {
  return {
    streams: {
      info: async () => {
        if (fail) throw new Error("no responders");
        return { config, state };
      },
    },
  } as unknown as JetStreamManager;
}

describe("capacity guard", () => {
  it("reports full inside the byte headroom and at the message limit, and room otherwise", async () => {
    const state = { bytes: 9_400, messages: 10 };
    const guard = createCapacityGuard(fakeJsm(state), "s", { headroom: 0.05, intervalMs: 60_000 });
    await guard.refresh();
    expect(guard.full).toBe(false);
    state.bytes = 9_500;
    await guard.refresh();
    expect(guard).toMatchObject({ full: true, reason: "max_bytes" });
    state.bytes = 100;
    state.messages = 100;
    await guard.refresh();
    expect(guard).toMatchObject({ full: true, reason: "max_msgs" });
    state.messages = 99;
    await guard.refresh();
    expect(guard.full).toBe(false);
    guard.stop();
  });

  it("applies the headroom only on servers whose byte limit is inexact (below 2.10.5)", async () => {
    const state = { bytes: 9_600, messages: 10 };
    const old = createCapacityGuard(fakeJsm(state), "s", { headroom: 0.05, intervalMs: 60_000, server: serverProfile("2.9.10") });
    const current = createCapacityGuard(fakeJsm(state), "s", { headroom: 0.05, intervalMs: 60_000, server: serverProfile("2.15.2") });
    await Promise.all([old.refresh(), current.refresh()]);
    expect(old).toMatchObject({ full: true, reason: "max_bytes" });
    expect(current.full).toBe(false);
    state.bytes = 10_000;
    await current.refresh();
    expect(current).toMatchObject({ full: true, reason: "max_bytes" });
    old.stop();
    current.stop();
  });

  it("keeps its last view when the stream cannot be read", async () => {
    const guard = createCapacityGuard(fakeJsm({ bytes: 0, messages: 0 }, undefined, true), "s", { intervalMs: 60_000 });
    await guard.refresh();
    expect(guard.full).toBe(false);
    guard.stop();
    expect(() => createCapacityGuard(fakeJsm({ bytes: 0, messages: 0 }), "s", { headroom: 1 })).toThrow(RangeError);
  });

  it("makes the publisher refuse with QueueFullError without asking the server", async () => {
    const conn = { nc: {}, js: { publish: () => Promise.reject(new Error("must not be called")) }, jsm: {}, isConnected: () => true } as unknown as QueueConnection;
    const publisher = createPublisher(conn, { guard: { full: true, reason: "max_bytes" } });
    await expect(publisher.publish("a.b.c", new Uint8Array(1), "id")).rejects.toBeInstanceOf(QueueFullError);
  });
});
