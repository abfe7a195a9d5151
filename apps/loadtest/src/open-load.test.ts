import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLoopback, runOpenLoad } from "./open-load.js";

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
      res.end();
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

  it("refuses targets off this machine", () => {
    expect(() => assertLoopback("http://10.0.0.1:3000")).toThrow(/only loopback/);
    expect(() => assertLoopback("http://example.com")).toThrow(/only loopback/);
    expect(assertLoopback("http://127.0.0.1:3000").port).toBe("3000");
    expect(assertLoopback("http://[::1]:3000").hostname).toBe("[::1]");
  });
});
