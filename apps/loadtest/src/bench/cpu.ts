/**
 * CPU shares of the processes of the whole system (gateway, worker, nats-server, PostgreSQL), read
 * from /proc: CPU seconds used between two readings over the wall time between them.
 */
import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";
import { procStats } from "./proc.js";

/** The processes to account, by name: one or more pids each (PostgreSQL has one per connection). */
export type ProcessGroups = Record<string, number[]>;

export interface CpuReading {
  at: number;
  /** Group → pid → CPU seconds used so far (a pid that could not be read is absent). */
  seconds: Record<string, Map<number, number>>;
}

function cpuSecondsOf(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      out.set(pid, procStats(pid).cpuSeconds);
    } catch {
      // exited (a PostgreSQL backend that closed)
    }
  }
  return out;
}

/** CPU seconds each group's processes have used so far. */
export function readCpu(groups: ProcessGroups): CpuReading {
  return { at: performance.now(), seconds: Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, cpuSecondsOf(pids)])) };
}

/**
 * Each group's share of one core between two readings (1 = a whole core), summed over the
 * processes present in both (one that exited in between takes its time with it).
 */
export function cpuShares(from: CpuReading, to: CpuReading): Record<string, number> {
  const wall = (to.at - from.at) / 1000;
  if (wall <= 0) throw new RangeError("the second reading is not after the first");
  const shares: Record<string, number> = {};
  for (const [name, now] of Object.entries(to.seconds)) {
    let used = 0;
    for (const [pid, seconds] of now) {
      const then = from.seconds[name]?.get(pid);
      if (then !== undefined) used += seconds - then;
    }
    shares[name] = used / wall;
  }
  return shares;
}

/** Formats shares as `gateway 0.62, worker 0.21, …` (cores). */
export function formatShares(shares: Record<string, number>): string {
  return Object.entries(shares)
    .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
    .join(", ");
}

/** The nats-server process listening on `port` (by its command line), if it runs on this machine. */
export function natsServerPid(port: number): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "nats-server") continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const p = args.findIndex((a) => a === "-p" || a === "--port");
      const listens = p >= 0 ? Number(args[p + 1]) : 4222;
      if (listens === port) return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/** PostgreSQL's processes working for `pool`'s database: its backends and the WAL writer, checkpointer and background writer. */
export async function postgresPids(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer')",
  );
  return rows.map((r) => r.pid);
}
