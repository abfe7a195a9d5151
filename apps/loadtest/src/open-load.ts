import { Agent, request } from "node:http";
import { LatencyRecorder, type LatencySummary } from "./stats.js";

export interface LoadRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface OpenLoadOptions {
  /** Base URL of the target; must be a loopback address. */
  target: string;
  /** Arrivals per second (open model: requests start on schedule whatever the responses do). */
  rate: number;
  /**
   * Optional schedule: the arrival time of request i in ms from the start (non-decreasing).
   * Overrides `rate` for timing, e.g. for bursts.
   */
  arrivalMs?: (i: number) => number;
  /** Number of requests to send in all. */
  total: number;
  /** Requests allowed in flight at once; an arrival beyond it is counted as `saturated`, not sent. */
  maxInFlight?: number;
  /** Builds request i (called once per request, just before it is sent). */
  makeRequest(i: number): LoadRequest;
  /** Called when request i got a response. */
  onResponse?(i: number, status: number, sentAt: number): void;
  /** Called about once a second with progress. */
  onProgress?(p: LoadProgress): void;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
}

export interface LoadProgress {
  elapsedMs: number;
  sent: number;
  completed: number;
  inFlight: number;
  ok: number;
}

export interface OpenLoadResult {
  sent: number;
  completed: number;
  /** 2xx answers. */
  ok: number;
  /** Count of answers per HTTP status, plus `error` (connection failures) and `timeout`. */
  byStatus: Record<string, number>;
  /** Arrivals not sent because `maxInFlight` requests were already outstanding. */
  saturated: number;
  /** Latency from the scheduled arrival time (includes any lateness of the generator itself). */
  latency: LatencySummary;
  durationMs: number;
  /** Completed requests per second over the run. */
  achievedRate: number;
}

/** Refuses any target that is not on this machine. Load is only ever sent to loopback. */
export function assertLoopback(target: string): URL {
  const url = new URL(target);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!(host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing to send load to ${url.hostname}: only loopback targets are allowed`);
  }
  return url;
}

/**
 * Sends `total` requests at a fixed arrival rate (an open model, so a slow server cannot slow the
 * arrivals and hide its latency) and reports status counts and latency percentiles.
 */
export function runOpenLoad(options: OpenLoadOptions): Promise<OpenLoadResult> {
  const url = assertLoopback(options.target);
  const maxInFlight = options.maxInFlight ?? 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const agent = new Agent({ keepAlive: true, maxSockets: Math.min(maxInFlight, 512), scheduling: "lifo" });
  const latency = new LatencyRecorder(Math.min(options.total, 1 << 20));
  const byStatus: Record<string, number> = {};
  const intervalMs = 1000 / options.rate;
  const arrival = options.arrivalMs ?? ((i: number) => i * intervalMs);
  let sent = 0;
  let completed = 0;
  let ok = 0;
  let saturated = 0;
  let inFlight = 0;
  const started = performance.now();
  let lastProgress = started;

  return new Promise((resolve) => {
    const finishIfDone = () => {
      if (sent + saturated < options.total || inFlight > 0) return;
      clearTimeout(timer);
      agent.destroy();
      const durationMs = performance.now() - started;
      resolve({ sent, completed, ok, byStatus, saturated, latency: latency.summary(), durationMs, achievedRate: (completed / durationMs) * 1000 });
    };

    const count = (key: string) => (byStatus[key] = (byStatus[key] ?? 0) + 1);

    const fire = (i: number, scheduledAt: number) => {
      if (inFlight >= maxInFlight) {
        saturated++;
        count("saturated");
        return;
      }
      const { path, headers, body } = options.makeRequest(i);
      inFlight++;
      sent++;
      let done = false;
      const end = (key: string, status: number) => {
        if (done) return;
        done = true;
        inFlight--;
        completed++;
        count(key);
        latency.record(performance.now() - scheduledAt);
        if (status >= 200 && status < 300) ok++;
        options.onResponse?.(i, status, scheduledAt);
        finishIfDone();
      };
      const req = request(
        { host: url.hostname, port: url.port, path, method: "POST", agent, timeout: timeoutMs, headers: { ...headers, "content-length": body.length } },
        (res) => {
          res.resume();
          res.on("end", () => end(String(res.statusCode), res.statusCode ?? 0));
          res.on("error", () => end("error", 0));
        },
      );
      req.on("timeout", () => {
        req.destroy();
        end("timeout", 0);
      });
      req.on("error", () => end("error", 0));
      req.end(body);
    };

    let next = 0;
    let timer: NodeJS.Timeout;
    const tick = () => {
      const now = performance.now();
      // Fire every arrival whose time has come; a late tick catches up rather than dropping them.
      while (next < options.total && started + arrival(next) <= now) {
        fire(next, started + arrival(next));
        next++;
      }
      if (options.onProgress && now - lastProgress >= 1000) {
        lastProgress = now;
        options.onProgress({ elapsedMs: now - started, sent, completed, inFlight, ok });
      }
      if (next < options.total) {
        timer = setTimeout(tick, Math.max(0, Math.min(5, started + arrival(next) - performance.now())));
      } else {
        finishIfDone();
      }
    };
    timer = setTimeout(tick, 0);
  });
}
