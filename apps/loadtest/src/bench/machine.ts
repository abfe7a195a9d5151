/**
 * What the whole machine did during a run, read from /proc: how busy its cores were, and how many
 * connection attempts the kernel dropped because a listen queue was full (each costs its client a
 * 1 s SYN retransmit).
 */
import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import { TICKS_PER_SECOND } from "./proc.js";

export interface MachineReading {
  at: number;
  /** CPU ticks spent busy (everything but idle and iowait), all cores. */
  busyTicks: number;
  /** TcpExt ListenOverflows so far. */
  listenOverflows: number;
}

/** Busy ticks from /proc/stat's first (all-cores) line: user nice system idle iowait irq softirq steal. */
export function busyTicksOf(procStat: string): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("/proc/stat: no cpu line");
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v;
  return user + nice + system + irq + softirq + steal;
}

/** A counter of /proc/net/netstat (`TcpExt: <names>` then `TcpExt: <values>`). */
export function netstatCounter(netstat: string, group: string, name: string): number {
  const lines = netstat.split("\n").filter((l) => l.startsWith(`${group}:`));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(/\s+/).slice(1);
    const at = names.indexOf(name);
    if (at >= 0) return Number(lines[i + 1]!.split(/\s+/).slice(1)[at]);
  }
  throw new Error(`/proc/net/netstat: no ${group} ${name}`);
}

export function readMachine(): MachineReading {
  return {
    at: performance.now(),
    busyTicks: busyTicksOf(readFileSync("/proc/stat", "utf8")),
    listenOverflows: netstatCounter(readFileSync("/proc/net/netstat", "utf8"), "TcpExt", "ListenOverflows"),
  };
}

/** Cores busy on average between two readings (of `cpus().length`), and the SYNs dropped meanwhile. */
export function machineBetween(from: MachineReading, to: MachineReading): { busyCores: number; cores: number; listenOverflows: number } {
  const seconds = (to.at - from.at) / 1000;
  return {
    busyCores: seconds > 0 ? (to.busyTicks - from.busyTicks) / TICKS_PER_SECOND / seconds : 0,
    cores: cpus().length,
    listenOverflows: to.listenOverflows - from.listenOverflows,
  };
}
