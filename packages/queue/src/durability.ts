import type { StreamInfo } from "@nats-io/jetstream";
import type { ServerProfile } from "./server-version.js";

/**
 * What a JetStream acknowledgement (and so the gateway's 2xx) means on the connected
 * deployment: how many replicas hold the webhook and whether the server fsyncs before acking.
 */
export interface Durability {
  /** The connected server's version. */
  version: string;
  /** The stream's replicas (num_replicas). */
  replicas: number;
  /**
   * `always`: fsync before every ack; `interval`: flushed every `syncIntervalMs` (lazy, the
   * default); `fixed`: the server cannot be told (before 2.10: lazy); `unknown`: not reported
   * (no monitoring URL, or it did not answer).
   */
  sync: "always" | "interval" | "fixed" | "unknown";
  syncIntervalMs?: number;
  /** The acknowledgement in words, e.g. "on disk on 1 node (fsync before the ack)". */
  ackMeans: string;
  /** True when a power loss or kernel crash of one machine can lose acknowledged webhooks. */
  atRisk: boolean;
}

/** The jetstream part of a server's /varz (2.10+ report the sync setting there). */
interface Varz {
  version?: string;
  jetstream?: { config?: { sync_interval?: number; sync_always?: boolean } };
}

/** Reads `<monitorUrl>/varz`; undefined when it does not answer in `timeoutMs`. */
async function readVarz(monitorUrl: string, timeoutMs: number): Promise<Varz | undefined> {
  try {
    const res = await fetch(new URL("/varz", monitorUrl), { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? ((await res.json()) as Varz) : undefined;
  } catch {
    return undefined;
  }
}

function quorum(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

/** Puts the replicas and the sync setting into words (see the README's Durability section). */
export function describeDurability(d: Omit<Durability, "ackMeans" | "atRisk">): Pick<Durability, "ackMeans" | "atRisk"> {
  const where = d.replicas > 1 ? `a quorum (${quorum(d.replicas)} of ${d.replicas} nodes)` : "1 node";
  if (d.sync === "always") return { ackMeans: `on disk on ${where} (fsync before the ack)`, atRisk: false };
  const flush =
    d.sync === "interval" ? `flushed to disk every ${Math.round((d.syncIntervalMs ?? 0) / 1000)} s` : d.sync === "fixed" ? "flushed on the server's own schedule (it cannot sync each write before 2.10)" : "sync setting not reported (set NATS_MONITOR_URL)";
  const loss = d.replicas > 1 ? "lost only if a quorum's machines fail together before the flush" : "lost if that machine loses power or its kernel crashes before the flush";
  return { ackMeans: `in the page cache of ${where}, ${flush}: ${loss}`, atRisk: d.replicas === 1 && d.sync !== "unknown" };
}

/**
 * The durability of `stream` on the connected server. The sync setting comes from the server's
 * monitoring endpoint (`/varz`, when `monitorUrl` is given); a server before 2.10 cannot sync
 * each write, so there it is known without asking.
 */
export async function readDurability(server: ServerProfile, stream: StreamInfo, monitorUrl?: string, timeoutMs = 2_000): Promise<Durability> {
  const replicas = stream.config.num_replicas || 1;
  let sync: Durability["sync"] = server.configurableSync ? "unknown" : "fixed";
  let syncIntervalMs: number | undefined;
  const config = monitorUrl && server.configurableSync ? (await readVarz(monitorUrl, timeoutMs))?.jetstream?.config : undefined;
  if (config?.sync_always) sync = "always";
  else if (config?.sync_interval) {
    sync = "interval";
    syncIntervalMs = config.sync_interval / 1e6;
  }
  const known = { version: server.version, replicas, sync, ...(syncIntervalMs === undefined ? {} : { syncIntervalMs }) };
  return { ...known, ...describeDurability(known) };
}
