import { withNatsServers } from "@floodgate/vitest-config";

// Unit tests once; integration tests once per nats-server (the shared 2.9.10 and .tools/bin's).
export default withNatsServers();
