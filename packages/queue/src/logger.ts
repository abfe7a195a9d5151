/**
 * The logging surface the queue needs. pino's `Logger` satisfies it (`log.info(obj, msg)`).
 */
export interface QueueLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/** A logger that drops everything, for callers that pass none. */
export const silentLogger: QueueLogger = {
  info() {},
  warn() {},
  error() {},
};
