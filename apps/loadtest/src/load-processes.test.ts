import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { globalIndex, packRequests, runOpenLoadSpread, shareCount, unpackRequests } from "./load-processes.js";

describe("sharing one schedule between generator processes", () => {
  it("gives every arrival to exactly one process", () => {
    for (const [total, n] of [
      [10, 3],
      [2, 4],
      [0, 2],
      [7, 1],
    ] as const) {
      const seen: number[] = [];
      for (let j = 0; j < n; j++) for (let k = 0; k < shareCount(total, j, n); k++) seen.push(globalIndex(k, j, n));
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    }
  });

  it("packs encoded requests and gets them back unchanged", () => {
    const requests = ["POST / HTTP/1.1\r\n\r\n", "", "x".repeat(70_000)].map((t) => Buffer.from(t));
    expect(unpackRequests(packRequests(requests)).map(String)).toEqual(requests.map(String));
    expect(() => unpackRequests(Buffer.concat([packRequests(requests), Buffer.from("!")]))).toThrow(/stray/);
  });
});

describe("runOpenLoadSpread", () => {
  let server: Server;
  let base: string;
  const bodies: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        bodies.push(body);
        res.statusCode = body.endsWith("7") ? 503 : 202;
        res.end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("sends every request once from two processes and merges what happened", async () => {
    const answered = new Map<number, number>();
    const result = await runOpenLoadSpread(
      { target: base, rate: 400, total: 60, processes: 2, makeRequest: (i) => ({ path: "/x", headers: { "content-type": "text/plain" }, body: Buffer.from(`req-${i}`) }) },
      (i, status, sentAt) => {
        answered.set(i, status);
        expect(sentAt).toBeGreaterThan(Date.now() - 60_000);
      },
    );
    expect(result.sent).toBe(60);
    expect(new Set(bodies)).toEqual(new Set(Array.from({ length: 60 }, (_, i) => `req-${i}`)));
    expect(result.byStatus).toEqual({ "202": 54, "503": 6 });
    expect(result.ok).toBe(54);
    expect(answered.size).toBe(60);
    expect(answered.get(17)).toBe(503);
    expect(result.latency.count).toBe(60);
    expect(result.lateness.count).toBe(60);
    // 60 arrivals at 400/s take ~150 ms from the shared start
    expect(result.durationMs).toBeGreaterThan(140);
  }, 30_000);

  it("keeps a bursty schedule across processes and reports their progress summed", async () => {
    const progress: { elapsedMs: number; sent: number }[] = [];
    const started = Date.now();
    const sentAt: number[] = [];
    // 2,000 arrivals at 500/s with 4× bursts for the first 500 ms of every second: ~1.4 s, not 4 s.
    const result = await runOpenLoadSpread(
      { target: base, rate: 500, total: 2000, processes: 2, burst: { factor: 4, everyMs: 1000, burstMs: 500 }, makeRequest: (i) => ({ path: "/x", headers: {}, body: Buffer.from(`b-${i}`) }), onProgress: (p) => progress.push(p) },
      (i, _status, at) => (sentAt[i] = at),
    );
    expect(result.sent).toBe(2000);
    const last = Math.max(...sentAt) - started;
    expect(result.durationMs).toBeLessThan(3000);
    expect(last).toBeLessThan(4000);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    // both processes' counts in every report: more than one process alone could have sent by then
    for (const p of progress) expect(p.sent).toBeGreaterThan(0);
    expect(Math.max(...progress.map((p) => p.sent))).toBeGreaterThan(1000);
  }, 30_000);
});
