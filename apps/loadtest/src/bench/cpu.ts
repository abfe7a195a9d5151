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
  seconds: Record<string, number>;
}

function cpuSecondsOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += procStats(pid).cpuSeconds;
    } catch {
      // exited (a PostgreSQL backend that closed): its time is lost to the reading
    }
  }
  return sum;
}

/** CPU seconds each group has used so far. */
export function readCpu(groups: ProcessGroups): CpuReading {
  return { at: performance.now(), seconds: Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, cpuSecondsOf(pids)])) };
}

/** Each group's share of one core between two readings (1 = a whole core). */
export function cpuShares(from: CpuReading, to: CpuReading): Record<string, number> {
  const wall = (to.at - from.at) / 1000;
  if (wall <= 0) throw new RangeError("the second reading is not after the first");
  return Object.fromEntries(Object.keys(to.seconds).map((name) => [name, (to.seconds[name]! - (from.seconds[name] ?? 0)) / wall]));
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
