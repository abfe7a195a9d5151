// Shared vitest config. Sources are resolved through the "@floodgate/source" export condition,
// so tests run against workspace packages' TypeScript without building them first.
import { fileURLToPath } from "node:url";
import { announcedVersion, binaryVersion, currentServerBin, freePort, warnOnlyShared } from "./nats-servers.js";

const base = {
  resolve: { conditions: ["@floodgate/source"] },
  ssr: { resolve: { conditions: ["@floodgate/source"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Integration tests (*.int.test.ts) share one NATS and one PostgreSQL; each creates its own
    // names, but on two cores running them one file at a time keeps timing assertions honest.
    fileParallelism: process.env.VITEST_FILE_PARALLELISM !== "false",
  },
};
export default base;

const INTEGRATION = ["src/**/*.int.test.ts", "test/**/*.int.test.ts"];
const GLOBAL_SETUP = fileURLToPath(new URL("./nats-global-setup.js", import.meta.url));

/**
 * For a package whose integration tests (`*.int.test.ts`) need NATS: unit tests run once (project
 * `unit`), integration tests once per nats-server, each as a project named after the server's
 * version so results say which server they ran on:
 * - `nats-<version>` of the shared server (NATS_URL, default 127.0.0.1:4222: the machine's
 *   service, Debian's 2.9.10 here); private servers a test starts use `nats-server` on PATH;
 * - `nats-<version>` of the current release scripts/bootstrap.sh builds into .tools/bin
 *   (v2.15.2), started for the run on a free port with a store of its own (NATS_URL and
 *   NATS_SERVER_BIN point the tests and the processes they start at it).
 * Without that binary only the shared server is tested, and the run says so loudly.
 * `vitest run --project nats-2.15.2 <file>` runs a file against one server.
 */
export async function withNatsServers(config = base) {
  const { include: _include, ...test } = config.test;
  const sharedUrl = process.env.NATS_URL || "127.0.0.1:4222";
  const sharedVersion = await announcedVersion(sharedUrl);
  const sharedName = `nats-${sharedVersion ?? "unreachable"}`;
  const projects = [
    { extends: true, test: { name: "unit", include: config.test.include, exclude: ["**/node_modules/**", "**/dist/**", "**/*.int.test.ts"] } },
    { extends: true, test: { name: sharedName, include: INTEGRATION, env: { NATS_URL: sharedUrl, NATS_SERVER_BIN: process.env.NATS_SERVER_BIN || "nats-server" } } },
  ];
  const currentVersion = binaryVersion(currentServerBin);
  if (!currentVersion) warnOnlyShared(sharedName, `${currentServerBin} is missing or does not run`);
  else if (currentVersion === sharedVersion) warnOnlyShared(sharedName, `${currentServerBin} is the same version as the shared server`);
  else {
    const url = `127.0.0.1:${await freePort()}`;
    projects.push({
      extends: true,
      test: { name: `nats-${currentVersion}`, include: INTEGRATION, env: { NATS_URL: url, NATS_SERVER_BIN: currentServerBin }, globalSetup: [GLOBAL_SETUP] },
    });
  }
  return { ...config, test: { ...test, projects } };
}
