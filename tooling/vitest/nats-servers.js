// Which nats-servers the NATS-dependent suites run against: the shared one (NATS_URL, the
// machine's service; Debian's 2.9.10 here) and the current release scripts/bootstrap.sh builds
// into .tools/bin (v2.15.2), which nats-global-setup.js starts on a port and store of its own.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The nats-server bootstrap.sh builds (FLOODGATE_TOOLS_DIR as there). */
export const currentServerBin = join(process.env.FLOODGATE_TOOLS_DIR ?? join(REPO_ROOT, ".tools"), "bin", "nats-server");

/** The version a running server announces in its INFO line, or undefined when it does not answer. */
export function announcedVersion(hostPort, timeoutMs = 2_000) {
  const [host, port] = hostPort.replace(/^nats:\/\//, "").split(",")[0].split(":");
  return new Promise((resolve) => {
    const socket = connect(Number(port ?? 4222), host || "127.0.0.1");
    let buffer = "";
    const done = (version) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(version);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      const line = /^INFO (\{.*\})\s*\r?\n/.exec(buffer);
      if (line) done(JSON.parse(line[1]).version);
    });
    socket.on("error", () => done(undefined));
  });
}

/** `nats-server --version` of a binary ("nats-server: v2.15.2" → "2.15.2"), or undefined. */
export function binaryVersion(bin) {
  if (!existsSync(bin)) return undefined;
  try {
    return /v?(\d+\.\d+\.\d+\S*)/.exec(execFileSync(bin, ["--version"], { encoding: "utf8" }))?.[1];
  } catch {
    return undefined;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Says loudly, once per run (vitest may load the config more than once), that only the shared server is tested. */
export function warnOnlyShared(sharedName, why) {
  if (process.env.FLOODGATE_WARNED_ONLY_SHARED) return;
  process.env.FLOODGATE_WARNED_ONLY_SHARED = "1";
  const lines = [
    `ONLY ${sharedName} IS TESTED: ${why}.`,
    "Build the current nats-server with `bash scripts/bootstrap.sh tools` (needs Go) to test both.",
  ];
  console.warn(["!!", ...lines.map((l) => `!! ${l}`), "!!"].join("\n"));
}
