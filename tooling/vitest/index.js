// Shared vitest config. Sources are resolved through the "@floodgate/source" export condition,
// so tests run against workspace packages' TypeScript without building them first.
export default {
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
