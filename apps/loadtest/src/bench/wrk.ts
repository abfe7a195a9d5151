import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A Lua script for wrk that sends pre-built raw requests from a file, in order, cycling. */
const LUA = `
local requests = {}
local idx = 0
init = function(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  for req in string.gmatch(data, "(.-)%z") do requests[#requests + 1] = req end
end
request = function()
  idx = idx % #requests + 1
  return requests[idx]
end
`;

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Answers that were not 2xx/3xx (wrk's "Non-2xx or 3xx responses"). */
  non2xx: number;
  socketErrors: number;
  latencyMs: { p50: number; p90: number; p99: number };
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

/** Writes raw HTTP/1.1 requests (NUL-separated) for the Lua script. */
export async function writeRequests(dir: string, name: string, host: string, requests: { path: string; headers: Record<string, string>; body: string }[]): Promise<string> {
  const parts: string[] = [];
  for (const r of requests) {
    const headers = Object.entries({ ...r.headers, host, "content-length": String(Buffer.byteLength(r.body)) })
      .map(([k, v]) => `${k}: ${v}`)
      .join("\r\n");
    parts.push(`POST ${r.path} HTTP/1.1\r\n${headers}\r\n\r\n${r.body}\0`);
  }
  const file = join(dir, `${name}.reqs`);
  await writeFile(file, parts.join(""));
  return file;
}

/** Runs wrk (closed model, one thread) against `url` with the requests in `file`. */
export async function runWrk(url: string, file: string, dir: string, options: { connections?: number; seconds?: number } = {}): Promise<WrkResult> {
  const script = join(dir, "requests.lua");
  await writeFile(script, LUA);
  const seconds = options.seconds ?? 5;
  const { stdout } = await run("wrk", ["-t1", `-c${options.connections ?? 256}`, `-d${seconds}s`, "--latency", "-s", script, url, "--", file], { maxBuffer: 1 << 20 });
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(stdout)?.[1] ?? "");
  return {
    requests,
    seconds,
    rps,
    non2xx,
    socketErrors: errors ? errors.slice(1).reduce((n, v) => n + Number(v), 0) : 0,
    latencyMs: { p50: pct("50"), p90: pct("90"), p99: pct("99") },
  };
}
