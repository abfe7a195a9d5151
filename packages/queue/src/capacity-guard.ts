import type { JetStreamManager } from "@nats-io/jetstream";
import type { QueueFullReason } from "./errors.js";
import { silentLogger, type QueueLogger } from "./logger.js";
import type { ServerProfile } from "./server-version.js";

/** Options of {@link createCapacityGuard}. */
export interface CapacityGuardOptions {
  /** How often the stream's size is read, ms (default 500). One small API call each time. */
  intervalMs?: number;
  /**
   * Share of max_bytes kept free (default 0.02): the guard reports full at
   * `bytes >= max_bytes × (1 − headroom)`. It must cover what all gateways can publish between two
   * reads (50 k webhooks/s × ~270 B × 0.5 s ≈ 7 MB, well inside 2 % of 1 GiB).
   */
  headroom?: number;
  /**
   * The server the stream is on. Where its byte limit is exact (2.10.5+) the headroom is not
   * needed and not applied: the guard reports full only at max_bytes, as the server refuses.
   * Unknown (omitted): the headroom applies.
   */
  server?: Pick<ServerProfile, "exactByteLimit">;
  log?: QueueLogger;
}

/** A cached view of whether the stream has room, refreshed in the background. */
export interface CapacityGuard {
  /** True when the stream is at its message limit or inside the byte headroom. */
  readonly full: boolean;
  /** Which limit is close, when full. */
  readonly reason: QueueFullReason | undefined;
  /** Reads the stream's state now. Errors keep the last known state. */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * Watches how full the stream is so publishers refuse before the server's byte limit is
 * reached. Needed on nats-server 2.9: there, discard-new compares max_bytes with payload and
 * headers only while the store counts whole records, so a publish can squeeze in at the limit
 * and the store then evicts the oldest message (nats-server#4771, fixed in 2.10.5). Refusing
 * inside a headroom keeps the stream out of that window; the message limit (exact on every
 * version) stays the one that binds normally. On a server without the bug (`options.server`
 * 2.10.5+) the guard still answers "full" without a round trip, at the limit itself.
 */
export function createCapacityGuard(jsm: JetStreamManager, stream: string, options: CapacityGuardOptions = {}): CapacityGuard {
  const configured = options.headroom ?? 0.02;
  if (!(configured >= 0 && configured < 1)) throw new RangeError(`headroom must be in [0, 1), got ${configured}`);
  const headroom = options.server?.exactByteLimit ? 0 : configured;
  const log = options.log ?? silentLogger;
  let reason: QueueFullReason | undefined;
  let inflight: Promise<void> | undefined;

  async function read(): Promise<void> {
    try {
      const { config, state } = await jsm.streams.info(stream);
      const next: QueueFullReason | undefined =
        config.max_msgs > 0 && state.messages >= config.max_msgs
          ? "max_msgs"
          : config.max_bytes > 0 && state.bytes >= config.max_bytes * (1 - headroom)
            ? "max_bytes"
            : undefined;
      if (next !== reason) {
        if (next) log.warn({ stream, reason: next, bytes: state.bytes, messages: state.messages }, "stream full: refusing new webhooks");
        else log.info({ stream, bytes: state.bytes, messages: state.messages }, "stream has room again");
      }
      reason = next;
    } catch {
      // Unreachable or missing stream: publishes will fail and say so; keep the last view.
    }
  }

  const refresh = () => (inflight ??= read().finally(() => (inflight = undefined)));
  const timer = setInterval(() => void refresh(), options.intervalMs ?? 500);
  timer.unref();
  void refresh();

  return {
    get full() {
      return reason !== undefined;
    },
    get reason() {
      return reason;
    },
    refresh,
    stop: () => clearInterval(timer),
  };
}
