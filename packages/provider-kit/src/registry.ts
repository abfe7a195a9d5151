import { DuplicateProviderError } from "./errors.js";
import type { ProviderRuntime } from "./runtime.js";

/** The providers a gateway serves, by id. */
export interface ProviderRegistry {
  /** The runtime for `id`, or `undefined` (the gateway answers `unknown_provider`). */
  get(id: string): ProviderRuntime | undefined;
  /** Registered ids, in registration order. */
  readonly ids: readonly string[];
}

/**
 * Builds the registry from an explicit list of runtimes.
 *
 * @throws DuplicateProviderError when two runtimes share an id: the process must not boot.
 */
export function createProviderRegistry(runtimes: readonly ProviderRuntime[]): ProviderRegistry {
  const byId = new Map<string, ProviderRuntime>();
  for (const runtime of runtimes) {
    if (byId.has(runtime.id)) throw new DuplicateProviderError(runtime.id);
    byId.set(runtime.id, runtime);
  }
  const ids = Object.freeze([...byId.keys()]);
  return Object.freeze({ get: (id: string) => byId.get(id), ids });
}
