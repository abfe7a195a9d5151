import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLoopback, burstSchedule, dueUntil, keptSchedule, runOpenLoad, steadySchedule } from "./open-load.js";

let server: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push(Buffer.concat(chunks).toString());
      res.statusCode = req.url === "/fail" ? 503 : 202;
      // "/slow" answers after 30 ms: the latency measured must include it.
      if (req.url === "/slow") setTimeout(() => res.end("{}"), 30);
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("runOpenLoad", () => {
  it("sends exactly `total` requests at roughly the requested rate and counts statuses", async () => {
    const result = await runOpenLoad({
      target: base,
      rate: 500,
      total: 200,
      makeRequest: (i) => ({ path: i % 10 === 0 ? "/fail" : "/ok", headers: {}, body: Buffer.from(`req-${i}`) }),
    });
    expect(result.sent).toBe(200);
    expect(result.completed).toBe(200);
    expect(result.byStatus).toEqual({ "202": 180, "503": 20 });
    expect(result.ok).toBe(180);
    // 200 arrivals at 500/s are spread over ~400 ms: an open model cannot finish much faster.
    expect(result.durationMs).toBeGreaterThan(350);
    expect(new Set(seen).size).toBeGreaterThanOrEqual(200);
    expect(result.latency.count).toBe(200);
  });

  it("measures from first byte written to last byte read, and reports the generator's lateness", async () => {
    const bodies: Buffer[] = [];
    const result = await runOpenLoad({
      target: base,
      rate: 200,
      total: 40,
      makeRequest: (i) => {
        bodies.push(Buffer.from(`pre-${i}`));
        return { path: "/slow", headers: { "content-type": "text/plain" }, body: bodies[i]! };
      },
      onResponse: (i, status, sentAt) => expect([i, status, sentAt > 0]).toEqual([i, 202, true]),
    });
    // every request was built before the first was sent (pre-signed)
    expect(bodies).toHaveLength(40);
    expect(result.ok).toBe(40);
    expect(result.latency.p50).toBeGreaterThanOrEqual(29);
    expect(result.lateness.count).toBe(40);
    expect(result.lateness.max).toBeGreaterThanOrEqual(0);
    expect(result.cpuCores).toBeGreaterThan(0);
  });

  it("holds a request for a free connection beyond maxConnections, and counts the wait as lateness", async () => {
    const result = await runOpenLoad({ target: base, rate: 1000, total: 10, maxConnections: 2, makeRequest: () => ({ path: "/slow", headers: {}, body: Buffer.from("x") }) });
    expect(result.ok).toBe(10);
    expect(result.connections).toBe(2);
    // five rounds of two 30 ms answers: the last pair waited for four of them
    expect(result.lateness.max).toBeGreaterThanOrEqual(100);
    expect(result.onTime).toBe(false);
  });

  it("counts a refused connection as an error, not a latency", async () => {
    const closed = await new Promise<number>((r) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => r(port));
      });
    });
    const result = await runOpenLoad({ target: `http://127.0.0.1:${closed}`, rate: 100, total: 5, makeRequest: () => ({ path: "/", headers: {}, body: Buffer.from("x") }) });
    expect(result.byStatus).toEqual({ error: 5 });
    expect(result.latency.count).toBe(0);
  });

  it("schedules arrivals steadily or in bursts, and finds which are due", () => {
    const steady = steadySchedule(2000);
    expect([0, 1, 2, 3].map(steady)).toEqual([0, 0.5, 1, 1.5]);
    expect(dueUntil(steady, 0, 10, 1.5)).toBe(4); // 0, 0.5, 1 and 1.5 ms are due at 1.5 ms
    expect(dueUntil(steady, 4, 10, 1.9)).toBe(4); // nothing more until 2 ms
    expect(dueUntil(steady, 4, 6, 100)).toBe(6); // never past the total
    expect(() => steadySchedule(0)).toThrow(RangeError);
    // 1000/s, ×4 during the first 10 ms of every 20 ms
    const burst = burstSchedule(60, 1000, 4, 20, 10);
    expect(Array.from(burst.slice(0, 3))).toEqual([0, 0.25, 0.5]);
    expect(dueUntil((i) => burst[i]!, 0, 60, 9.99)).toBe(40); // 40 arrivals in the 10 ms burst
    expect(burst[41]! - burst[40]!).toBe(1); // then back to 1 per ms
  });

  it("trusts a run's latency only when the generator kept its schedule", () => {
    const summary = (p99: number) => ({ count: 100, p50: 0.1, p90: 1, p99, max: p99 * 2, mean: 0.5 });
    expect(keptSchedule(summary(1.2))).toBe(true);
    expect(keptSchedule(summary(5))).toBe(true);
    expect(keptSchedule(summary(5.1))).toBe(false);
    expect(keptSchedule(summary(20), 25)).toBe(true);
    expect(keptSchedule({ count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 })).toBe(false);
  });

  it("refuses targets off this machine", () => {
    expect(() => assertLoopback("http://10.0.0.1:3000")).toThrow(/only loopback/);
    expect(() => assertLoopback("http://example.com")).toThrow(/only loopback/);
    expect(assertLoopback("http://127.0.0.1:3000").port).toBe("3000");
    expect(assertLoopback("http://[::1]:3000").hostname).toBe("[::1]");
  });
});
