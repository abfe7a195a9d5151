/**
 * Single-use tokens (Mailgun's `token`, Sinch's nonce, a JWT's `jti`), remembered in this
 * process until the signature that carried them expires.
 *
 * A token is *claimed* when its request verifies and *released* again if the webhook is not
 * stored (the provider will retry the same delivery, possibly with the same token). With
 * several gateway processes each remembers only what it saw, and a full guard forgets its
 * oldest tokens first: a replay can then get past the guard, but never past the worker's
 * ledger of applied event ids, so it changes nothing. The guard saves work and refuses the
 * obvious replay at the edge; the ledger is what makes a replay harmless.
 */
export interface ReplayGuard {
  /**
   * Claims `token` until `expiresAtMs`. False when it is already claimed and not yet expired
   * (a replay).
   */
  claim(token: string, expiresAtMs: number, nowMs: number): boolean;
  /** Forgets `token`, so the next request carrying it is accepted. */
  release(token: string): void;
  /** Tokens currently remembered. */
  readonly size: number;
}

/** Options of {@link createReplayGuard}. */
export interface ReplayGuardOptions {
  /** Most tokens remembered; beyond it the oldest are forgotten. Default 200,000 (about 30 MB). */
  capacity?: number;
}

/** Default {@link ReplayGuardOptions.capacity}. */
export const REPLAY_GUARD_CAPACITY = 200_000;

/**
 * Creates a {@link ReplayGuard}: an insertion-ordered map of token → expiry, pruned from the
 * oldest end as it is used, so claims cost O(1) amortized and memory stays bounded.
 */
export function createReplayGuard(options: ReplayGuardOptions = {}): ReplayGuard {
  const capacity = options.capacity ?? REPLAY_GUARD_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`replay guard capacity ${capacity} must be a positive integer`);
  const tokens = new Map<string, number>();

  function prune(nowMs: number): void {
    // Expiries are nearly in insertion order (one tolerance after the signed time); what is
    // out of order is either reached later or evicted by the capacity bound.
    for (const [token, expiresAt] of tokens) {
      if (expiresAt > nowMs) break;
      tokens.delete(token);
    }
  }

  return {
    claim(token, expiresAtMs, nowMs) {
      prune(nowMs);
      const held = tokens.get(token);
      if (held !== undefined && held > nowMs) return false;
      if (held !== undefined) tokens.delete(token);
      tokens.set(token, expiresAtMs);
      if (tokens.size > capacity) {
        const oldest = tokens.keys().next().value as string;
        tokens.delete(oldest);
      }
      return true;
    },
    release(token) {
      tokens.delete(token);
    },
    get size() {
      return tokens.size;
    },
  };
}
