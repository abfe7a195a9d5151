import base from "@floodgate/vitest-config";

// The end-to-end and fault tests start processes, kill servers and measure deadlines: on two
// cores they run one file at a time so one test's load cannot push another past its deadline.
export default { ...base, test: { ...base.test, fileParallelism: false } };
