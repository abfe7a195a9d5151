export { parseEnv, intVar, stringVar, urlVar, enumVar, secretVar } from "./env.js";
export { ConfigError } from "./errors.js";
export { createLogger, type Logger } from "./logger.js";
export { onShutdown } from "./shutdown.js";
export { handleOps, runChecks, startOpsServer, closeServer, type OpsOptions, type ReadinessCheck, type MetricsSource } from "./ops-server.js";
