/**
 * What the connected nats-server can do, from the version it announces (`nc.info.version`).
 * Workarounds for old-server bugs apply only where the bug exists, and newer features are used
 * only where the server has them (a 2.9 server drops fields it does not know without an error).
 */
export interface ServerProfile {
  /** As announced, e.g. "2.9.10", "2.15.2"; "unknown" before the first INFO. */
  version: string;
  /**
   * discard-new refuses exactly at `max_bytes` (2.10.5+). Below, it compares the limit with
   * payload + headers while the store counts whole records, so a publish can squeeze in at the
   * limit and the store then evicts the OLDEST message (nats-server#4771).
   */
  exactByteLimit: boolean;
  /** Stream `compression: "s2"` (2.10+). */
  compression: boolean;
  /** The server can be told to fsync every write (`sync_interval: always`, 2.10+). */
  configurableSync: boolean;
}

/** `[major, minor, patch]` of "2.10.5", "v2.15.2", "2.11.0-RC.1"; undefined when unreadable. */
export function parseServerVersion(version: string | undefined): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? "");
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** True when `version` is `min` or later; false when it cannot be read (assume the oldest). */
export function versionAtLeast(version: string | undefined, min: string): boolean {
  const have = parseServerVersion(version);
  const want = parseServerVersion(min);
  if (!have || !want) return false;
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

export function serverProfile(version: string | undefined): ServerProfile {
  return {
    version: version ?? "unknown",
    exactByteLimit: versionAtLeast(version, "2.10.5"),
    compression: versionAtLeast(version, "2.10.0"),
    configurableSync: versionAtLeast(version, "2.10.0"),
  };
}
