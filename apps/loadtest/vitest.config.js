import base, { withNatsServers } from "@floodgate/vitest-config";

// The end-to-end and fault tests start processes, kill servers and measure deadlines: on two
// cores they run one file at a time so one test's load cannot push another past its deadline.
// Unit tests once; end-to-end tests once per nats-server (the shared 2.9.10 and .tools/bin's).
export default withNatsServers({ ...base, test: { ...base.test, fileParallelism: false } });
