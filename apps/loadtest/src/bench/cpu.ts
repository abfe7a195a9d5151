/**
 * CPU shares of the processes of the whole system (gateway, worker, nats-server, PostgreSQL), read
 * from /proc: CPU seconds used between two readings over the wall time between them.
 */
import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";
import { parentPid, procStats, treeCpuSeconds } from "./proc.js";

/**
 * The processes to account, by name: one or more pids each, or `{ tree: pid }` for a process and
 * all its children (PostgreSQL: the postmaster and every backend, including the ones that come
 * and go during a run).
 */
export type ProcessGroups = Record<string, number[] | { tree: number }>;

export interface CpuReading {
  at: number;
  /** Group → pid → CPU seconds used so far (a pid that could not be read is absent). */
  seconds: Record<string, Map<number, number>>;
}

/** CPU seconds used so far by each pid of a group (a tree is read as one entry, its root). */
function cpuSecondsOf(group: number[] | { tree: number }): Map<number, number> {
  const out = new Map<number, number>();
  const [pids, read] = Array.isArray(group) ? [group, (pid: number) => procStats(pid).cpuSeconds] : [[group.tree], treeCpuSeconds];
  for (const pid of pids) {
    try {
      out.set(pid, read(pid));
    } catch {
      // exited (a PostgreSQL backend that closed, or the root of a tree)
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

/**
 * PostgreSQL's postmaster (the parent of `pool`'s backend): account it as a tree, so every backend,
 * the WAL writer, the checkpointer and backends that exit during a run all count. On a server of
 * its own that is the database's whole cost; other databases' work on it counts too.
 */
export async function postmasterPid(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return parentPid(rows[0]!.pid);
}
