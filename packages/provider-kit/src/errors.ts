/**
 * Every error class provider-kit throws. Expected request outcomes (bad signature, malformed
 * body) are result values, never these: these are for faults at boot or in corrupt queue data.
 */

/** Options shared by every provider-kit error. */
export interface ProviderKitErrorOptions {
  cause?: unknown;
}

/**
 * A provider definition is invalid (bad id, bad shape). Thrown by {@link defineProvider};
 * a programming error, fix the definition.
 */
export class InvalidProviderDefinitionError extends Error {
  override readonly name = "InvalidProviderDefinitionError";
  constructor(message: string, options?: ProviderKitErrorOptions) {
    super(message, options);
  }
}

/**
 * The environment does not configure a provider correctly: a variable is missing, empty or
 * malformed (e.g. an Ed25519 key that is not 32 bytes). Thrown once, at boot, by
 * `createProviderRuntime`; `variables` names the offending environment variables.
 */
export class ProviderConfigError extends Error {
  override readonly name = "ProviderConfigError";
  /** Provider id the configuration belongs to. */
  readonly provider: string;
  /** The environment variables at fault (empty when the fault is not tied to one). */
  readonly variables: readonly string[];
  constructor(provider: string, variables: readonly string[], message: string, options?: ProviderKitErrorOptions) {
    super(message, options);
    this.provider = provider;
    this.variables = variables;
  }
}

/**
 * Signature scheme parameters are invalid (bad key length, bad secret encoding, bad tolerance).
 * Thrown by a scheme's `create`; `createProviderRuntime` rethrows it as a {@link ProviderConfigError}.
 */
export class InvalidSchemeParamsError extends Error {
  override readonly name = "InvalidSchemeParamsError";
  /** Scheme name, e.g. `ed25519`. */
  readonly scheme: string;
  constructor(scheme: string, message: string, options?: ProviderKitErrorOptions) {
    super(message, options);
    this.scheme = scheme;
  }
}

/** Two providers with the same id were registered; the process must not boot. */
export class DuplicateProviderError extends Error {
  override readonly name = "DuplicateProviderError";
  /** The id registered twice. */
  readonly provider: string;
  constructor(provider: string, options?: ProviderKitErrorOptions) {
    super(`provider id "${provider}" is registered more than once`, options);
    this.provider = provider;
  }
}

/**
 * Bytes handed to `decodeEvents` are not a valid encoded event batch (truncated, unknown
 * version, bad status index, trailing bytes, invalid UTF-8). `offset` is where decoding stopped.
 */
export class EventDecodeError extends Error {
  override readonly name = "EventDecodeError";
  /** Byte offset at which the fault was detected. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: ProviderKitErrorOptions) {
    super(`${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}
