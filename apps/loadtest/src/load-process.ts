/** One generator process of {@link runOpenLoadSpread}: sends its share of the schedule, writes what happened. */
import { readFileSync, writeFileSync } from "node:fs";
import { globalIndex, unpackRequests, type ShareJob } from "./load-processes.js";
import { arrivalSchedule, runOpenLoad } from "./open-load.js";

const job = JSON.parse(process.argv[2] ?? "{}") as ShareJob;
const requests = unpackRequests(readFileSync(job.requestsFile));
if (requests.length !== job.count) throw new Error(`generator ${job.index}: ${requests.length} requests, expected ${job.count}`);
const schedule = arrivalSchedule(job.total, job.rate, job.burst);
const arrivalMs = (k: number) => schedule(globalIndex(k, job.index, job.processes));
const results = new Float64Array(4 * job.count + 2);
const startAt = job.startEpochMs - performance.timeOrigin;
const result = await runOpenLoad({
  target: job.target,
  rate: job.rate,
  total: job.count,
  arrivalMs,
  startAt,
  timeoutMs: job.timeoutMs,
  maxInFlight: job.maxInFlight,
  maxConnections: job.maxConnections,
  makeRequest: () => {
    throw new Error("requests come encoded");
  },
  requestBytes: (k) => requests[k]!,
  onProgress: (p) => process.send?.(p),
  onResponse(k, status, sentAt, latencyMs) {
    results[k] = latencyMs;
    results[job.count + k] = sentAt > 0 ? sentAt - (startAt + arrivalMs(k)) : 0;
    results[2 * job.count + k] = sentAt > 0 ? performance.timeOrigin + sentAt : -1;
    results[3 * job.count + k] = status;
  },
});
results[4 * job.count] = result.cpuCores;
results[4 * job.count + 1] = result.connections;
writeFileSync(job.resultFile, new Uint8Array(results.buffer));
process.exit(0);
