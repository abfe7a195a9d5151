import { connect, type Socket } from "node:net";
import { encodeRequest, RequestSlabs, ResponseReader } from "./http-wire.js";
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
  /**
   * Builds request i. With `presign` (the default) every request is built and encoded before the
   * clock starts, so signing costs the run nothing; without it, just before request i is sent
   * (for a caller that must sign at send time).
   */
  makeRequest(i: number): LoadRequest;
  /** Build every request before the clock starts (default true). */
  presign?: boolean;
  /** Request i's bytes, already encoded (host included): used instead of `makeRequest` when given. */
  requestBytes?(i: number): Buffer;
  /** When the clock starts, in this process's `performance.now()` (default: once the connections are open). */
  startAt?: number;
  /** Keep-alive connections opened before the clock starts (default: enough for 100 ms of arrivals, so a hiccup of the server does not make the generator open connections mid-run). */
  connections?: number;
  /**
   * Connections open at once at most (default 512, as an HTTP agent's `maxSockets`): beyond it a
   * request waits for a connection to come free, and that wait counts as the generator's lateness.
   */
  maxConnections?: number;
  /**
   * Called when request i got a response (or failed: status 0); `sentAt` is when its first byte
   * was written (performance.now()), `latencyMs` from then to the last byte read (0 when failed).
   */
  onResponse?(i: number, status: number, sentAt: number, latencyMs: number): void;
  /** Called about once a second with progress. */
  onProgress?(p: LoadProgress): void;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
  /** p99 lateness (ms) above which the run's latency is not the server's (default {@link MAX_LATENESS_MS}). */
  maxLatenessMs?: number;
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
  /** From the request's first byte written to its response's last byte read (answered requests). */
  latency: LatencySummary;
  /** The generator's own lateness: first byte written − scheduled arrival, per request. */
  lateness: LatencySummary;
  /** Whether the generator kept its schedule (lateness p99 within `maxLatenessMs`): only then is `latency` the server's. */
  onTime: boolean;
  /** Connections used in all (opened before the clock, plus any opened during the run). */
  connections: number;
  /** CPU this process used while the clock ran, in cores (1 = a whole core): what the generator cost. */
  cpuCores: number;
  durationMs: number;
  /** Completed requests per second over the run. */
  achievedRate: number;
}

/** A steady schedule: arrival i at i × 1000 / rate ms from the start. */
export function steadySchedule(rate: number): (i: number) => number {
  if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`rate must be a positive number of arrivals per second, got ${rate}`);
  const intervalMs = 1000 / rate;
  return (i) => i * intervalMs;
}

/** Bursts in a schedule: during the first `burstMs` of every `everyMs`, `factor` × the rate. */
export interface Burst {
  factor: number;
  everyMs: number;
  burstMs: number;
}

/**
 * Arrival schedule with bursts: `rate` per second, and during the first `burstMs` of every
 * `burstEveryMs`, `factor` times that.
 */
export function burstSchedule(total: number, rate: number, factor: number, everyMs: number, burstMs: number): Float64Array {
  const at = new Float64Array(total);
  let t = 0;
  for (let i = 0; i < total; i++) {
    at[i] = t;
    const inBurst = factor > 1 && everyMs > 0 && t % everyMs < burstMs;
    t += 1000 / (inBurst ? rate * factor : rate);
  }
  return at;
}

/** The arrival time (ms from the start) of each of `total` requests: steady, or with bursts. */
export function arrivalSchedule(total: number, rate: number, burst?: Burst): (i: number) => number {
  if (!burst || !(burst.factor > 1)) return steadySchedule(rate);
  const at = burstSchedule(total, rate, burst.factor, burst.everyMs, burst.burstMs);
  return (i) => at[i]!;
}

/** The index just past the last arrival due by `elapsedMs`, scanning from `next` (at most `total`). */
export function dueUntil(arrival: (i: number) => number, next: number, total: number, elapsedMs: number): number {
  let i = next;
  while (i < total && arrival(i) <= elapsedMs) i++;
  return i;
}

/** Lateness p99 (ms) a generator may show and still have its latencies count as the server's. */
export const MAX_LATENESS_MS = 5;

/** Whether a generator kept its schedule closely enough for its latencies to be the server's. */
export function keptSchedule(lateness: LatencySummary, maxLatenessMs = MAX_LATENESS_MS): boolean {
  return lateness.count > 0 && lateness.p99 <= maxLatenessMs;
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

/** A keep-alive connection carrying one request at a time. */
interface Conn {
  socket: Socket;
  reader: ResponseReader;
  ready: boolean;
  /** The request in flight: its index and when its first byte was written. */
  busy: { i: number; sentAt: number; timer: NodeJS.Timeout } | undefined;
}

/**
 * Sends `total` requests at a fixed arrival rate (an open model, so a slow server cannot slow the
 * arrivals and hide its latency) on raw keep-alive sockets, each request's bytes built before
 * the clock starts; reports status counts, latency percentiles (first byte written to last byte
 * read) and the generator's own lateness against its schedule.
 */
export async function runOpenLoad(options: OpenLoadOptions): Promise<OpenLoadResult> {
  const url = assertLoopback(options.target);
  const host = url.host;
  const port = Number(url.port || 80);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const maxInFlight = options.maxInFlight ?? 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const arrival = options.arrivalMs ?? steadySchedule(options.rate);
  const presign = options.presign ?? true;
  const given = options.requestBytes;
  const encoded = !given && presign ? presignAll(host, options) : undefined;
  const build = given ?? ((i: number) => (encoded ? encoded.get(i) : encodeRequest(host, options.makeRequest(i))));

  const latency = new LatencyRecorder(Math.min(options.total, 1 << 20));
  const lateness = new LatencyRecorder(Math.min(options.total, 1 << 20));
  const byStatus: Record<string, number> = {};
  const count = (key: string) => (byStatus[key] = (byStatus[key] ?? 0) + 1);
  const idle: Conn[] = [];
  const waiting: { i: number; bytes: Buffer; scheduledAt: number }[] = [];
  let waitingHead = 0;
  const maxConnections = options.maxConnections ?? 512;
  let live = 0;
  let opened = 0;
  let sent = 0;
  let completed = 0;
  let ok = 0;
  let saturated = 0;
  let inFlight = 0;
  let finish: () => void = () => undefined;

  const end = (conn: Conn, key: string, status: number) => {
    const busy = conn.busy;
    if (!busy) return;
    conn.busy = undefined;
    clearTimeout(busy.timer);
    inFlight--;
    completed++;
    count(key);
    const took = status > 0 ? performance.now() - busy.sentAt : 0;
    if (status > 0) latency.record(took);
    if (status >= 200 && status < 300) ok++;
    options.onResponse?.(busy.i, status, busy.sentAt, took);
    finish();
  };

  const open = (): Conn => {
    opened++;
    live++;
    const socket = connect({ host: hostname, port, noDelay: true });
    const conn: Conn = { socket, reader: new ResponseReader(), ready: false, busy: undefined };
    socket.on("connect", () => {
      conn.ready = true;
      if (!conn.busy) release(conn);
    });
    socket.on("data", (chunk: Buffer) => {
      let response;
      try {
        response = conn.reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (!response) return;
      end(conn, String(response.status), response.status);
      if (response.close) socket.destroy();
      else release(conn);
    });
    socket.on("error", () => undefined); // 'close' follows
    socket.on("close", () => {
      live--;
      conn.ready = false;
      const at = idle.indexOf(conn);
      if (at >= 0) idle.splice(at, 1);
      end(conn, "error", 0);
      // A request waiting for a connection gets a new one in place of this.
      if (waitingHead < waiting.length && live < maxConnections) sendWaiting(open());
    });
    return conn;
  };

  /** A connection came free: the longest-waiting request goes on it, else it waits in the pool. */
  const release = (conn: Conn) => {
    if (waitingHead < waiting.length) sendWaiting(conn);
    else idle.push(conn);
  };

  const sendWaiting = (conn: Conn) => {
    const w = waiting[waitingHead]!;
    waiting[waitingHead++] = undefined as never;
    if (waitingHead === waiting.length) {
      waiting.length = 0;
      waitingHead = 0;
    }
    send(conn, w.i, w.bytes, w.scheduledAt);
  };

  const send = (conn: Conn, i: number, bytes: Buffer, scheduledAt: number) => {
    const timer = setTimeout(() => {
      end(conn, "timeout", 0);
      conn.socket.destroy();
    }, timeoutMs);
    const busy = { i, sentAt: 0, timer };
    conn.busy = busy;
    const write = () => {
      busy.sentAt = performance.now();
      lateness.record(busy.sentAt - scheduledAt);
      conn.socket.write(bytes);
    };
    // A fresh connection's setup delays the first byte: that is the generator's lateness.
    if (conn.ready) write();
    else conn.socket.once("connect", write);
  };

  const fire = (i: number, scheduledAt: number) => {
    if (inFlight >= maxInFlight) {
      saturated++;
      count("saturated");
      return;
    }
    const bytes = build(i);
    inFlight++;
    sent++;
    // Most recently used first: the connections that stay warm, as an HTTP agent's "lifo".
    const conn = idle.pop() ?? (live < maxConnections ? open() : undefined);
    if (conn) send(conn, i, bytes, scheduledAt);
    else waiting.push({ i, bytes, scheduledAt });
  };

  const warm = Math.min(maxConnections, options.connections ?? Math.min(maxInFlight, Math.ceil(options.rate / 10) + 8));
  await openWarm(warm, open);

  const started = options.startAt ?? performance.now();
  const cpuAtStart = process.cpuUsage();
  let lastProgress = started;
  return new Promise((resolve) => {
    let next = 0;
    let timer: NodeJS.Timeout;
    finish = () => {
      if (next < options.total || inFlight > 0) return;
      clearTimeout(timer);
      for (const c of idle.splice(0)) c.socket.destroy();
      const durationMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuAtStart);
      const late = lateness.summary();
      resolve({
        sent,
        completed,
        ok,
        byStatus,
        saturated,
        latency: latency.summary(),
        lateness: late,
        onTime: keptSchedule(late, options.maxLatenessMs),
        connections: opened,
        cpuCores: (cpu.user + cpu.system) / 1000 / durationMs,
        durationMs,
        achievedRate: (completed / durationMs) * 1000,
      });
    };
    const tick = () => {
      const now = performance.now();
      // Fire every arrival whose time has come; a late tick catches up rather than dropping them.
      const due = dueUntil(arrival, next, options.total, now - started);
      for (; next < due; next++) fire(next, started + arrival(next));
      if (options.onProgress && now - lastProgress >= 1000) {
        lastProgress = now;
        options.onProgress({ elapsedMs: now - started, sent, completed, inFlight, ok });
      }
      if (next < options.total) {
        timer = setTimeout(tick, Math.max(0, Math.min(5, started + arrival(next) - performance.now())));
      } else {
        finish();
      }
    };
    timer = setTimeout(tick, 0);
  });
}

/** Every request built, signed and encoded before the clock starts. */
function presignAll(host: string, options: OpenLoadOptions): RequestSlabs {
  const slabs = new RequestSlabs(options.total);
  for (let i = 0; i < options.total; i++) slabs.push(encodeRequest(host, options.makeRequest(i)));
  return slabs;
}

/** Opens `n` connections and waits until each is connected (or failed: sends then open new ones). */
async function openWarm(n: number, open: () => Conn): Promise<void> {
  const conns = Array.from({ length: n }, open);
  await Promise.all(conns.map((c) => new Promise<void>((r) => c.socket.once("connect", () => r()).once("close", () => r()))));
}
