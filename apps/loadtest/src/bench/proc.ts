import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times (USER_HZ on Linux). */
export const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command name (which may contain spaces): state is [0], ppid [1]. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds (user + system) a process has used so far, and its resident memory now. */
export function procStats(pid: number): { cpuSeconds: number; rssBytes: number } {
  const fields = statFields(pid);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: rssKb * 1024 };
}

/** A process's parent pid. */
export function parentPid(pid: number): number {
  return Number(statFields(pid)[1]);
}

/**
 * CPU seconds a process and all its children have used so far: its own, its reaped children's
 * (cutime + cstime, which a parent like PostgreSQL's postmaster collects as backends exit), and its
 * live children's. Cumulative, so two readings give the tree's CPU in between even as children
 * come and go.
 */
export function treeCpuSeconds(root: number): number {
  const fields = statFields(root);
  let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const child = statFields(Number(entry));
      if (Number(child[1]) === root) ticks += Number(child[11]) + Number(child[12]);
    } catch {
      // exited meanwhile: its time is in the parent's cutime now, or will be
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, procStats(pid).rssBytes);
    } catch {
      // the process is gone
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}
