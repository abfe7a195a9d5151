import type { StreamInfo } from "@nats-io/jetstream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeDurability, readDurability } from "./durability.js";
import { serverProfile } from "./server-version.js";

const stream = (replicas: number) => ({ config: { num_replicas: replicas } }) as unknown as StreamInfo;

function serveVarz(body: unknown) {
  vi.stubGlobal("fetch", vi.fn(async (url: URL) => (String(url).endsWith("/varz") ? new Response(JSON.stringify(body)) : new Response("", { status: 404 }))));
}

afterEach(() => vi.unstubAllGlobals());

describe("durability", () => {
  it("says what an ack means for each deployment", () => {
    expect(describeDurability({ version: "2.15.2", replicas: 1, sync: "always" })).toEqual({ ackMeans: "on disk on 1 node (fsync before the ack)", atRisk: false });
    expect(describeDurability({ version: "2.15.2", replicas: 1, sync: "interval", syncIntervalMs: 120_000 })).toMatchObject({ ackMeans: expect.stringMatching(/page cache of 1 node, flushed to disk every 120 s: lost if that machine loses power/), atRisk: true });
    expect(describeDurability({ version: "2.15.2", replicas: 3, sync: "always" }).ackMeans).toBe("on disk on a quorum (2 of 3 nodes) (fsync before the ack)");
    expect(describeDurability({ version: "2.15.2", replicas: 3, sync: "interval", syncIntervalMs: 120_000 })).toMatchObject({ ackMeans: expect.stringMatching(/page cache of a quorum \(2 of 3 nodes\).*quorum's machines fail together/), atRisk: false });
    expect(describeDurability({ version: "2.9.10", replicas: 1, sync: "fixed" })).toMatchObject({ ackMeans: expect.stringMatching(/cannot sync each write before 2\.10/), atRisk: true });
  });

  it("reads the sync setting from /varz on 2.10+, and knows 2.9 without asking", async () => {
    serveVarz({ jetstream: { config: { sync_interval: 120_000_000_000, sync_always: true } } });
    expect(await readDurability(serverProfile("2.15.2"), stream(1), "http://127.0.0.1:8222")).toMatchObject({ version: "2.15.2", replicas: 1, sync: "always", atRisk: false });
    serveVarz({ jetstream: { config: { sync_interval: 120_000_000_000 } } });
    expect(await readDurability(serverProfile("2.15.2"), stream(3), "http://127.0.0.1:8222")).toMatchObject({ replicas: 3, sync: "interval", syncIntervalMs: 120_000 });
    expect(await readDurability(serverProfile("2.15.2"), stream(1))).toMatchObject({ sync: "unknown", atRisk: false, ackMeans: expect.stringContaining("set NATS_MONITOR_URL") });
    expect(await readDurability(serverProfile("2.9.10"), stream(1), "http://127.0.0.1:8222")).toMatchObject({ sync: "fixed", atRisk: true });
  });

  it("treats a monitoring endpoint that does not answer as not reported", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("fetch failed"))));
    expect(await readDurability(serverProfile("2.15.2"), stream(1), "http://127.0.0.1:1")).toMatchObject({ sync: "unknown" });
  });
});
