/**
 * The open-model generator spread over several processes sharing one schedule: process j of n
 * sends arrivals j, j + n, j + 2n, … at their times on a clock all of them agree on (wall time),
 * so no one event loop has to write every request, and none carries the parent's heap (a major
 * GC in the bench process cannot stall the schedule). Requests are encoded by the parent and
 * handed over in a file per process; each process hands back every request's status, latency
 * and lateness, merged here into one {@link OpenLoadResult}.
 */
import { fork } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeRequest } from "./http-wire.js";
import { assertLoopback, keptSchedule, steadySchedule, type Burst, type LoadProgress, type LoadRequest, type OpenLoadResult } from "./open-load.js";
import { LatencyRecorder } from "./stats.js";

export interface SpreadLoadOptions {
  target: string;
  rate: number;
  total: number;
  /** Generator processes (≥ 1). */
  processes: number;
  makeRequest(i: number): LoadRequest;
  timeoutMs?: number;
  maxLatenessMs?: number;
  /** Requests in flight at once per process (default 1024). */
  maxInFlight?: number;
  /** Connections open at once per process (default 512, see {@link OpenLoadOptions.maxConnections}). */
  maxConnections?: number;
  /** Bursts in the shared schedule (default: a steady rate). */
  burst?: Burst;
  /** Called about once a second while the load runs, with the processes' progress summed. */
  onProgress?(p: LoadProgress): void;
}

/** What one generator process was asked to do (its argv[2], JSON). */
export interface ShareJob {
  target: string;
  rate: number;
  processes: number;
  index: number;
  /** Arrivals in the shared schedule (all processes). */
  total: number;
  count: number;
  burst?: Burst;
  /** Wall-clock start of the shared schedule, epoch ms. */
  startEpochMs: number;
  timeoutMs: number;
  maxInFlight: number;
  maxConnections: number;
  requestsFile: string;
  resultFile: string;
}

/** Arrival k of process `index` of `processes`: its global index in the shared schedule. */
export function globalIndex(k: number, index: number, processes: number): number {
  return k * processes + index;
}

/** How many of `total` arrivals process `index` of `processes` sends. */
export function shareCount(total: number, index: number, processes: number): number {
  return index < total ? Math.floor((total - 1 - index) / processes) + 1 : 0;
}

/** Packs encoded requests: a u32 count, u32 lengths, then the bytes. */
export function packRequests(requests: Buffer[]): Buffer {
  const head = Buffer.alloc(4 + 4 * requests.length);
  head.writeUInt32LE(requests.length, 0);
  requests.forEach((r, k) => head.writeUInt32LE(r.length, 4 + 4 * k));
  return Buffer.concat([head, ...requests]);
}

/** The requests of {@link packRequests}, as views into `packed`. */
export function unpackRequests(packed: Buffer): Buffer[] {
  const n = packed.readUInt32LE(0);
  const out: Buffer[] = [];
  let at = 4 + 4 * n;
  for (let k = 0; k < n; k++) {
    const len = packed.readUInt32LE(4 + 4 * k);
    out.push(packed.subarray(at, at + len));
    at += len;
  }
  if (at !== packed.length) throw new Error(`packed requests: ${packed.length - at} stray bytes`);
  return out;
}

const CHILD = fileURLToPath(new URL(`./load-process.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url));

/**
 * Per request of a share: status (0 = failed or not sent), latency and lateness in ms, and when
 * its first byte was written (epoch ms; 0 = never sent, over the in-flight limit; -1 = sent but
 * never written, its connection failed first).
 */
interface ShareResult {
  status: Uint16Array;
  latency: Float64Array;
  lateness: Float64Array;
  sentAtEpoch: Float64Array;
  cpuCores: number;
  connections: number;
}

function decodeShare(buf: Buffer, count: number): ShareResult {
  // A copy: a Float64Array needs an 8-byte aligned start.
  const f = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  if (f.length !== 4 * count + 2) throw new Error(`generator result: ${f.length} values, expected ${4 * count + 2}`);
  return {
    latency: f.subarray(0, count),
    lateness: f.subarray(count, 2 * count),
    sentAtEpoch: f.subarray(2 * count, 3 * count),
    status: Uint16Array.from(f.subarray(3 * count, 4 * count)),
    cpuCores: f[4 * count]!,
    connections: f[4 * count + 1]!,
  };
}

/**
 * Runs the open-model load over `processes` generator processes. `onResponse(i, status,
 * sentAtEpochMs)` is called for every request after the run.
 */
export async function runOpenLoadSpread(options: SpreadLoadOptions, onResponse?: (i: number, status: number, sentAtEpochMs: number) => void): Promise<OpenLoadResult> {
  const url = assertLoopback(options.target);
  if (!(Number.isInteger(options.processes) && options.processes >= 1)) throw new RangeError(`processes must be a whole number ≥ 1, got ${options.processes}`);
  steadySchedule(options.rate); // validates the rate
  const dir = await mkdtemp(join(tmpdir(), "fg-load-"));
  try {
    const n = options.processes;
    const jobs: ShareJob[] = [];
    for (let j = 0; j < n; j++) {
      const count = shareCount(options.total, j, n);
      const requests = Array.from({ length: count }, (_, k) => encodeRequest(url.host, options.makeRequest(globalIndex(k, j, n))));
      const requestsFile = join(dir, `requests-${j}.bin`);
      await writeFile(requestsFile, packRequests(requests));
      jobs.push({ target: options.target, rate: options.rate, processes: n, index: j, total: options.total, count, ...(options.burst ? { burst: options.burst } : {}), startEpochMs: 0, timeoutMs: options.timeoutMs ?? 10_000, maxInFlight: options.maxInFlight ?? 1024, maxConnections: options.maxConnections ?? 512, requestsFile, resultFile: join(dir, `result-${j}.bin`) });
    }
    // Every process loads its requests and opens its connections before the shared start.
    const startEpochMs = Date.now() + 1500 + 200 * n;
    const progress = progressSum(n, options.onProgress);
    await Promise.all(jobs.map((job) => runShare({ ...job, startEpochMs }, progress)));
    const durationMs = performance.timeOrigin + performance.now() - startEpochMs;
    return await mergeShares(jobs, options, durationMs, onResponse);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Each process's latest progress; `onProgress` gets their sum once every process reported anew. */
function progressSum(n: number, onProgress: SpreadLoadOptions["onProgress"]): (index: number, p: LoadProgress) => void {
  const latest: (LoadProgress | undefined)[] = Array.from({ length: n }, () => undefined);
  let fresh = 0;
  return (index, p) => {
    if (!onProgress) return;
    if (latest[index] === undefined) fresh++;
    latest[index] = p;
    if (fresh < n) return;
    const all = latest as LoadProgress[];
    const sum = (f: (q: LoadProgress) => number) => all.reduce((t, q) => t + f(q), 0);
    onProgress({ elapsedMs: Math.max(...all.map((q) => q.elapsedMs)), sent: sum((q) => q.sent), completed: sum((q) => q.completed), inFlight: sum((q) => q.inFlight), ok: sum((q) => q.ok) });
    latest.fill(undefined);
    fresh = 0;
  };
}

function runShare(job: ShareJob, onProgress: (index: number, p: LoadProgress) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // From source (the bench runs under tsx) the child is TypeScript too: it needs tsx's loader.
    const needsLoader = CHILD.endsWith(".ts") && !process.execArgv.some((a) => a.includes("tsx"));
    const execArgv = needsLoader ? ["--import", "tsx"] : process.execArgv;
    const child = fork(CHILD, [JSON.stringify(job)], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (p: LoadProgress) => onProgress(job.index, p));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`generator process ${job.index} exited with ${code}`))));
  });
}

async function mergeShares(jobs: ShareJob[], options: SpreadLoadOptions, durationMs: number, onResponse?: (i: number, status: number, sentAtEpochMs: number) => void): Promise<OpenLoadResult> {
  const latency = new LatencyRecorder(options.total);
  const lateness = new LatencyRecorder(options.total);
  const byStatus: Record<string, number> = {};
  let ok = 0;
  let sent = 0;
  let cpuCores = 0;
  let connections = 0;
  for (const job of jobs) {
    const r = decodeShare(await readFile(job.resultFile), job.count);
    cpuCores += r.cpuCores;
    connections += r.connections;
    for (let k = 0; k < job.count; k++) {
      const status = r.status[k]!;
      const at = r.sentAtEpoch[k]!;
      const key = status > 0 ? String(status) : at === 0 ? "saturated" : "error";
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      if (at !== 0) sent++;
      if (at > 0) lateness.record(r.lateness[k]!);
      if (status > 0) latency.record(r.latency[k]!);
      if (status >= 200 && status < 300) ok++;
      if (at !== 0) onResponse?.(globalIndex(k, job.index, job.processes), status, Math.max(0, at));
    }
  }
  const late = lateness.summary();
  const completed = sent;
  return { sent, completed, ok, byStatus, saturated: byStatus.saturated ?? 0, latency: latency.summary(), lateness: late, onTime: keptSchedule(late, options.maxLatenessMs), connections, cpuCores, durationMs, achievedRate: (completed / durationMs) * 1000 };
}
