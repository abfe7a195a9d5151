import base from "@floodgate/vitest-config";

// The deploy and bootstrap tests start PostgreSQL clusters, nats-servers and app processes: one
// file at a time, as in apps/loadtest.
export default { ...base, test: { ...base.test, fileParallelism: false } };
