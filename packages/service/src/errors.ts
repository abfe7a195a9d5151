/** The environment is invalid; the message lists every mistake, one per line. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
